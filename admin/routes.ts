import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import { ErrorCode, type SocketError, type Sockets } from '../server/socket';
import type { AdminAccess, Verdict } from './access';
import { findConnection } from './actions';
import { adminSocketPath } from './protocol';
import { Csrf } from './csrf';
import type { Config } from '../server/config';
import type { Metrics } from './metrics';
import { channelPage } from './views/channel';
import type { Access } from './views/chrome';
import { connectionPage } from './views/connection';
import { loginPage } from './views/login';
import { messagePage } from './views/message';
import { socketsPage } from './views/sockets';
import { tapPage } from './views/tap';

/** The admin's settings (ADMIN_* in the README). */
export type AdminSettings = Config['admin'];

export interface AdminRoutes {
  router: Router;
  sockets: Sockets;
  settings: AdminSettings;
  access: AdminAccess;
  /** Serves /metrics when given. */
  metrics?: Metrics;
}

/** The login form is a token and two hidden fields: anything bigger is not a login. */
const loginBodyLimit = '4kb';
/** After sign-in, only admin pages: never a redirect off this site. */
const adminPath = /^\/admin(\/[^\\]*)?$/;

/** Admin pages, /admin/sockets.json, /metrics (when asked), and the sign-in and sign-out forms. */
export function adminRoutes({ router, sockets, settings, access, metrics }: AdminRoutes): void {
  const csrf = new Csrf();
  const form = express.urlencoded({ extended: false, limit: loginBodyLimit });
  const chrome = (req: Request, res: Response): Access =>
    access.loopbackOnly ? { loopbackOnly: true } : { loopbackOnly: false, csrf: csrf.token(req, res) };

  router.get('/admin/login', (req, res) => {
    if (access.loopbackOnly) return res.redirect(303, '/admin/sockets');
    res.type('html').send(loginPage({ csrf: csrf.token(req, res), next: nextPath(req.query.next) }));
  });
  router.post('/admin/login', form, (req, res) => {
    if (!csrf.verify(req)) return csrfRefused(req, res);
    if (access.loopbackOnly) return refuse(req, res, 400, 'Nothing to sign in to', 'ADMIN_TOKEN is not set: the admin answers loopback addresses without signing in');
    const next = nextPath(req.body?.next);
    const verdict = access.login(req, String(req.body?.token ?? ''), req.secure);
    if (!verdict.ok) {
      if (verdict.retryAfter) res.set('Retry-After', String(verdict.retryAfter));
      return res.status(verdict.status).type('html').send(loginPage({ csrf: csrf.token(req, res), next, error: verdict.message }));
    }
    res.append('Set-Cookie', verdict.cookie!).redirect(303, next);
  });
  router.post('/admin/logout', form, (req, res) => {
    if (!csrf.verify(req)) return csrfRefused(req, res);
    res.append('Set-Cookie', access.logout(req.secure)).redirect(303, '/admin/login');
  });

  const guard: RequestHandler = (req, res, next) => {
    const verdict = access.check(req);
    if (verdict.ok) return next();
    // A browser without a session goes to the form; scripts get the status and why.
    const browser = req.method === 'GET' && !req.headers.authorization && (req.headers.accept ?? '').includes('text/html');
    if (verdict.status === 401 && browser) return res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
    denied(req, res, verdict);
  };
  router.use('/admin', guard);
  if (metrics) {
    router.get('/metrics', guard, async (_req, res) => {
      // This node only: Prometheus scrapes every node, so cluster-wide totals would be counted once per node.
      res.type(metrics.registry.contentType).send(await metrics.render(sockets.counts()));
    });
  }

  router.get('/admin', (_req, res) => res.redirect(303, '/admin/sockets'));
  router.get('/admin/sockets', (req, res) => res.type('html').send(socketsPage(chrome(req, res), sockets.node)));
  // Every node of a cluster (just this one with the in-process bus), for scripts.
  router.get('/admin/sockets.json', async (_req, res) => res.json(await sockets.clusterStatus()));
  router.get('/admin/sockets/tap', (req, res) => res.type('html').send(tapPage(chrome(req, res), settings.tapRows)));
  router.get('/admin/sockets/chan/:key', (req, res) => {
    const key = String(req.params.key);
    const max = sockets.limits.maxChannelNameLength;
    if (key.length > max) return refuse(req, res, 400, 'No such channel', `channel names are at most ${max} characters`);
    res.type('html').send(channelPage(chrome(req, res), key));
  });
  router.get('/admin/sockets/conn/:id', async (req, res) => {
    try {
      res.type('html').send(connectionPage(chrome(req, res), await findConnection(sockets, String(req.params.id))));
    } catch (err) {
      if ((err as SocketError).code === ErrorCode.unknownConnection) return refuse(req, res, 404, 'No such connection', `no connection ${req.params.id} on any node (it may have closed)`);
      if ((err as SocketError).code === ErrorCode.nodeUnavailable) return refuse(req, res, 503, 'Node not answering', (err as Error).message);
      throw err;
    }
  });

  // A plain GET of the admin socket's path: why an upgrade there would be refused right now. A
  // browser cannot read the HTTP status of a refused WebSocket upgrade, so the pages ask here
  // after a failed connect (access and lockout answered by the guard above, like the upgrade).
  router.get(adminSocketPath, (req, res) => {
    const refused = sockets.upgradeRefusal(req);
    if (refused) return refuse(req, res, refused.status, refusalTitles[refused.status] ?? 'Admin socket refused', refused.message);
    res.type('text').send('an admin socket from this address would be admitted now\n');
  });

  // Bad form bodies and the like: a clear status and message, never a stack trace.
  const failed: ErrorRequestHandler = (err: { status?: number; expose?: boolean; message?: string }, req, res, _next) => {
    const status = err.status ?? 500;
    refuse(req, res, status, 'Request failed', err.expose ? String(err.message) : 'internal error');
  };
  router.use('/admin', failed);
}

const refusalTitles: Record<number, string> = { 403: 'Origin not allowed', 429: 'Too many admin pages', 503: 'Shutting down' };

function csrfRefused(req: Request, res: Response): void {
  refuse(req, res, 403, 'Form refused', 'the form has no valid CSRF token (expired, or sent from another site): reload the page and try again');
}

function denied(req: Request, res: Response, verdict: Extract<Verdict, { ok: false }>): void {
  if (verdict.status === 401) res.set('WWW-Authenticate', 'Bearer realm="wsforge admin"');
  if (verdict.retryAfter) res.set('Retry-After', String(verdict.retryAfter));
  const title = verdict.status === 401 ? 'Sign-in required' : verdict.status === 429 ? 'Too many attempts' : 'Access refused';
  refuse(req, res, verdict.status, title, verdict.message);
}

/** HTML for browsers, plain text for scripts and Prometheus. */
function refuse(req: Request, res: Response, status: number, title: string, message: string): void {
  res.status(status);
  if (req.accepts(['text', 'html']) === 'html') res.type('html').send(messagePage(title, message));
  else res.type('text').send(`${message}\n`);
}

function nextPath(value: unknown): string {
  return typeof value === 'string' && adminPath.test(value) ? value : '/admin/sockets';
}
