import type { IncomingMessage } from 'node:http';
import type { Feature } from '../server/features/feature';
import { HttpError } from '../server/socket/router';
import { AdminAccess, checkOrigin } from './access';
import { apiRoutes } from './api';
import { adminHandler } from './handler';
import { LiveStatus } from './live';
import { Lockout } from './lockout';
import type { Metrics } from './metrics';
import { adminChannel, adminSocketPath } from './protocol';
import { adminRoutes } from './routes';
import { TapFeed } from './tap-feed';

/** Admin connections are all this one server-side identity: nothing a client sends chooses it. */
const adminProfile = { id: 'wsforge-admin', name: 'admin' };

/**
 * The admin: pages under /admin, their socket, /metrics and the server API under /api/sockets.
 * Mounted by createApp when WebSockets are enabled (there is nothing to administer otherwise).
 */
export function adminFeature(metrics: Metrics): Feature {
  return ({ router, sockets, config }) => {
    if (!sockets) return;
    const { admin } = config;
    const access = new AdminAccess({
      token: admin.token,
      sessionHours: admin.sessionHours,
      lockout: new Lockout(admin.maxFailures, admin.lockoutMs),
      clientAddress: sockets.options.clientAddress,
      behindProxy: config.trustProxy !== undefined,
    });
    const handler = adminHandler(new LiveStatus(sockets, admin.statusIntervalMs, admin.pageSize), new TapFeed(sockets, admin.tapBatchMs, admin.tapBatchMax));
    // Same credential as the pages, plus a same-host Origin: refused with an HTTP status before any connection exists.
    const identify = async (req: IncomingMessage) => {
      for (const verdict of [access.check(req), checkOrigin(req)]) if (!verdict.ok) throw new HttpError(verdict.status, verdict.message);
      return { profile: adminProfile };
    };
    sockets.route(adminSocketPath, () => ({ channel: adminChannel, handler }), { identify, namespace: 'admin' });
    apiRoutes(router, sockets, access, admin.apiKey, config.socket.maxPayload);
    adminRoutes({ router, sockets, config, access, metrics });
  };
}
