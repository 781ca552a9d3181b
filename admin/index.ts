import type { IncomingMessage } from 'node:http';
import express, { type Router } from 'express';
import { publicDir } from '../server/paths';
import { securityHeaders } from '../server/security-headers';
import { HttpError, type Sockets } from '../server/socket';
import { AdminAccess, checkOrigin } from './access';
import { reservedCmds, type ContentProtocols } from './actions';
import { apiRoutes } from './api';
import { adminHandler } from './handler';
import { LiveStatus } from './live';
import { Lockout } from './lockout';
import type { Metrics } from './metrics';
import { adminChannel, adminSocketPath } from './protocol';
import { adminRoutes, type AdminSettings } from './routes';
import { TapFeed } from './tap-feed';
import { adminAssets } from './views/chrome';

/** Admin connections are all this one server-side identity: nothing a client sends chooses it. */
const adminProfile = { id: 'wsforge-admin', name: 'admin' };

export type { AdminSettings, ContentProtocols };

export interface AdminMount {
  /** Where its pages (/admin/…) and the server API (/api/sockets/…) go: an Express app or router. */
  router: Router;
  sockets: Sockets;
  settings: AdminSettings;
  /** TRUST_PROXY is set: the loopback-only rule cannot tell who is local, so the admin needs a token. */
  behindProxy: boolean;
  /** Serve Prometheus metrics at /metrics, behind the admin's credential; absent: no /metrics. */
  metrics?: Metrics;
  /** The app's protocols whose server frames pages show as content: the admin pages may not send those cmds (a notice instead). */
  contentProtocols?: ContentProtocols;
}

/**
 * The admin: pages under /admin with their own assets under /admin/assets, their socket, the
 * server API under /api/sockets, and /metrics when given. Access rules in docs/security.md: open
 * to loopback peers only until a token is set.
 */
export function mountAdmin({ router, sockets, settings, behindProxy, metrics, contentProtocols = {} }: AdminMount): void {
  const access = new AdminAccess({
    token: settings.token,
    sessionHours: settings.sessionHours,
    lockout: new Lockout(settings.maxFailures, settings.lockoutMs),
    clientAddress: (req) => sockets.clientAddress(req),
    behindProxy,
  });
  const handler = adminHandler(new LiveStatus(sockets, settings.statusIntervalMs, settings.pageSize), new TapFeed(sockets, settings.tapBatchMs, settings.tapBatchMax), reservedCmds(contentProtocols));
  // Same credential as the pages, plus a same-host Origin: refused with an HTTP status before any connection exists.
  // `reserved`: admin pages count against WS_ADMIN_CONNECTIONS_PER_IP, not the address's common cap.
  const identify = async (req: IncomingMessage) => {
    for (const verdict of [access.check(req), checkOrigin(req)]) if (!verdict.ok) throw new HttpError(verdict.status, verdict.message);
    return { profile: adminProfile };
  };
  sockets.route(adminSocketPath, () => ({ channel: adminChannel, handler }), { identify, namespace: 'admin', reserved: true });
  // The host app's own headers policy is its own; the admin's pages always get the strict one.
  router.use(['/admin', '/metrics'], securityHeaders());
  // Styles and page scripts only (the sign-in page needs them before any credential).
  router.use(adminAssets, express.static(publicDir, { index: false, maxAge: '1h', fallthrough: false }));
  apiRoutes(router, sockets, access, settings.apiKey, sockets.limits.maxPayload);
  adminRoutes({ router, sockets, settings, access, metrics });
}
