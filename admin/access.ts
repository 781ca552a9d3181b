import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { adminCookie, readCookie } from './cookies';
import { sameSecret, sign } from './secret';

const sessionCookie = 'wsforge_admin';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };
const allowed: Verdict = { ok: true };

/**
 * Who may use the admin pages, the admin socket and /metrics.
 * With ADMIN_TOKEN: a `Authorization: Bearer` header or the session cookie set by the login form.
 * Without: only requests whose TCP peer is a loopback address (X-Forwarded-For is never read,
 * anyone can send it) and whose Host names loopback, so a DNS-rebinding page cannot get in.
 */
export class AdminAccess {
  private readonly sessionMs: number;

  constructor(
    private readonly token: string | undefined,
    sessionHours: number,
  ) {
    this.sessionMs = sessionHours * 3_600_000;
  }

  /** No token configured: the admin is open to loopback peers only. */
  get loopbackOnly(): boolean {
    return this.token === undefined;
  }

  check(req: IncomingMessage): Verdict {
    if (this.token === undefined) return checkLoopback(req);
    if (req.headers.authorization !== undefined) {
      const bearer = bearerToken(req);
      return bearer !== undefined && sameSecret(bearer, this.token) ? allowed : refused(401, 'wrong admin token (Authorization: Bearer <ADMIN_TOKEN>)');
    }
    const session = readCookie(req, sessionCookie);
    if (session !== undefined && this.validSession(session, this.token)) return allowed;
    return refused(401, session === undefined ? 'sign in at /admin/login, or send Authorization: Bearer <ADMIN_TOKEN>' : 'your admin session has expired: sign in again');
  }

  /** Checks a token typed into the login form; on success, the Set-Cookie value of a new session. */
  login(submitted: string, secure: boolean): string | undefined {
    if (this.token === undefined || !sameSecret(submitted, this.token)) return undefined;
    const expires = Date.now() + this.sessionMs;
    // The cookie holds an expiry and its HMAC under the token, never the token itself; changing the token ends every session.
    return adminCookie(sessionCookie, `${expires}.${sign(this.token, `session.${expires}`)}`, { maxAge: this.sessionMs / 1000, secure });
  }

  logout(secure: boolean): string {
    return adminCookie(sessionCookie, '', { maxAge: 0, secure });
  }

  private validSession(value: string, token: string): boolean {
    const dot = value.indexOf('.');
    const expires = Number(value.slice(0, dot));
    if (dot < 0 || !Number.isSafeInteger(expires) || expires <= Date.now()) return false;
    return sameSecret(value.slice(dot + 1), sign(token, `session.${expires}`));
  }
}

/** The credential of an `Authorization: Bearer <secret>` header, if there is one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
}

/**
 * Browsers always send Origin on a WebSocket handshake; a page of another site must not open the
 * admin socket with this browser's cookie. No Origin means a non-browser client, which still
 * needs the credential.
 */
export function checkOrigin(req: IncomingMessage): Verdict {
  const origin = req.headers.origin;
  if (origin === undefined) return allowed;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== undefined && host.toLowerCase() === (req.headers.host ?? '').toLowerCase()) return allowed;
  return refused(403, `cross-origin admin socket refused: Origin ${origin} is not this host`);
}

function checkLoopback(req: IncomingMessage): Verdict {
  const peer = req.socket.remoteAddress;
  if (!isLoopbackAddress(peer)) {
    return refused(
      403,
      `the admin only answers loopback addresses while ADMIN_TOKEN is unset (this request came from ${peer ?? 'a peer without an IP address'}); ` +
        'set ADMIN_TOKEN (at least 16 characters) to use it from elsewhere',
    );
  }
  if (!isLoopbackHost(req.headers.host)) {
    return refused(403, 'while ADMIN_TOKEN is unset the admin must be opened as localhost, 127.0.0.1 or [::1] (DNS rebinding guard); or set ADMIN_TOKEN');
  }
  return allowed;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x; anything else (including no address at all) is not loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/** A Host header naming this machine's loopback: localhost (and *.localhost), 127.x or [::1], any port. */
export function isLoopbackHost(host: string | undefined): boolean {
  let hostname: string;
  try {
    hostname = new URL(`http://${host ?? ''}`).hostname;
  } catch {
    return false;
  }
  if (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

function refused(status: 401 | 403, message: string): Verdict {
  return { ok: false, status, message };
}
