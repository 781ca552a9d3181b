import express, { type ErrorRequestHandler, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { ErrorCode, SocketError, type Sockets } from '../server/socket';
import { bearerToken, type AdminAccess } from './access';
import { kickConnection, kickUser, publishToChannel } from './actions';
import { cmdSchema, reasonSchema } from './protocol';

const publishBody = z.strictObject({
  channel: z.string().min(1),
  cmd: cmdSchema,
  param: z.unknown().optional().transform((p) => p ?? {}),
});
const disconnectBody = z
  .strictObject({ connId: z.string().min(1).optional(), userId: z.string().min(1).optional(), reason: reasonSchema })
  .refine((b) => (b.connId === undefined) !== (b.userId === undefined), 'give exactly one of connId and userId');

/**
 * The server API for other services: POST /api/sockets/publish and /disconnect with a JSON body,
 * authorised by `Authorization: Bearer <ADMIN_API_KEY>`. Without ADMIN_API_KEY it answers 403
 * to everything: there is no key anyone could present. Wrong keys count towards the admin's
 * lockout of the client's address. Bodies are at most `maxBodyBytes`.
 */
export function apiRoutes(router: Router, sockets: Sockets, access: AdminAccess, apiKey: string | undefined, maxBodyBytes: number): void {
  const authorize: RequestHandler = (req, res, next) => {
    if (apiKey === undefined) return fail(res, 403, 'the sockets API is disabled: set ADMIN_API_KEY (at least 16 characters) to enable it');
    const key = bearerToken(req);
    const verdict = key === undefined ? undefined : access.verify(req, key, apiKey, 'wrong API key');
    if (verdict?.ok) return next();
    if (verdict?.retryAfter) res.set('Retry-After', String(verdict.retryAfter));
    else res.set('WWW-Authenticate', 'Bearer realm="wsforge api"');
    fail(res, verdict?.status ?? 401, verdict?.message ?? 'missing Authorization: Bearer <ADMIN_API_KEY>');
  };
  const json = express.json({ limit: maxBodyBytes });

  router.post('/api/sockets/publish', authorize, json, (req, res) => {
    answer(res, publishBody, req.body, (b) => publishToChannel(sockets, b));
  });
  router.post('/api/sockets/disconnect', authorize, json, (req, res) => {
    answer(res, disconnectBody, req.body, (b) => (b.connId !== undefined ? kickConnection(sockets, b.connId, b.reason) : kickUser(sockets, b.userId!, b.reason)));
  });
  // Unparseable or oversized bodies: the parser's status (400, 413) with its message, as JSON.
  const parseFailed: ErrorRequestHandler = (err: { status?: number; expose?: boolean; message?: string }, _req, res, _next) => {
    fail(res, err.status ?? 500, err.expose ? `bad request body: ${err.message}` : 'internal error');
  };
  router.use('/api/sockets', parseFailed);
}

/** Validates the body, runs the action, and maps its outcome to a status: 200, 400, 404, 415 or 503. */
async function answer<S extends z.ZodType>(res: Response, schema: S, body: unknown, act: (body: z.output<S>) => object | Promise<object>): Promise<void> {
  if (body === undefined) return fail(res, 415, 'send a JSON body with Content-Type: application/json');
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    return void res.status(400).json({ error: 'invalid body', problems });
  }
  try {
    res.json(await act(parsed.data));
  } catch (err) {
    if (!(err instanceof SocketError)) throw err;
    fail(res, statusOf(err.code), err.message);
  }
}

function statusOf(code: string): number {
  if (code === ErrorCode.unknownConnection) return 404;
  if (code === ErrorCode.nodeUnavailable) return 503;
  return 400;
}

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}
