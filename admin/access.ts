import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { adminCookie, readCookie } from './cookies';
import type { Lockout } from './lockout';
import { sameSecret, sign } from './secret';

const sessionCookie = 'wsforge_admin';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403 | 429; message: string; retryAfter?: number };
const allowed: Verdict = { ok: true };

export interface AdminAccessOptions {
  /** ADMIN_TOKEN; unset: loopback peers only. */
  token?: string;
  sessionHours: number;
  /** Counts wrong tokens and API keys per client address. */
  lockout: Lockout;
  /** The client's address of a request (the TCP peer, or per TRUST_PROXY). */
  clientAddress: (req: IncomingMessage) => string;
  /** TRUST_PROXY is set: requests may come through a proxy on this machine, so loopback proves nothing. */
  behindProxy: boolean;
}

/**
 * Who may use the admin pages, the admin socket and /metrics.
 * With ADMIN_TOKEN: a `Authorization: Bearer` header or the session cookie set by the login form;
 * wrong tokens lock the client's address out for a while (lockout.ts).
 * Without: only requests whose TCP peer is a loopback address (X-Forwarded-For is never read,
 * anyone can send it) and whose Host names loopback, so a DNS-rebinding page cannot get in; and
 * nobody at all behind a trusted proxy, whose forwarded requests come from loopback too.
 */
export class AdminAccess {
  private readonly token?: string;
  private readonly sessionMs: number;

  constructor(private readonly options: AdminAccessOptions) {
    this.token = options.token;
    this.sessionMs = options.sessionHours * 3_600_000;
  }

  /** No token configured: the admin is open to loopback peers only. */
  get loopbackOnly(): boolean {
    return this.token === undefined;
  }

  check(req: IncomingMessage): Verdict {
    if (this.token === undefined) return this.options.behindProxy ? refused(403, behindProxyMessage) : checkLoopback(req);
    if (req.headers.authorization !== undefined) return this.verify(req, bearerToken(req), this.token, 'wrong admin token (Authorization: Bearer <ADMIN_TOKEN>)');
    const session = readCookie(req, sessionCookie);
    if (session !== undefined && this.validSession(session, this.token)) return allowed;
    return refused(401, session === undefined ? 'sign in at /admin/login, or send Authorization: Bearer <ADMIN_TOKEN>' : 'your admin session has expired: sign in again');
  }

  /**
   * A presented secret (admin token, API key) against the expected one: refused (429) while the
   * client's address is locked out, counted against it when wrong.
   */
  verify(req: IncomingMessage, presented: string | undefined, expected: string, wrong: string): Verdict {
    const { lockout, clientAddress } = this.options;
    const address = clientAddress(req);
    const wait = lockout.retryAfter(address);
    if (wait > 0) return { ok: false, status: 429, message: `too many wrong admin credentials from ${address}: try again in ${wait} s`, retryAfter: wait };
    if (presented !== undefined && sameSecret(presented, expected)) {
      lockout.succeeded(address);
      return allowed;
    }
    lockout.failed(address);
    return refused(401, wrong);
  }

  /** Checks a token typed into the login form; when it is right, the Set-Cookie value of a new session comes with the verdict. */
  login(req: IncomingMessage, submitted: string, secure: boolean): Verdict & { cookie?: string } {
    if (this.token === undefined) return refused(403, 'ADMIN_TOKEN is not set');
    const verdict = this.verify(req, submitted, this.token, 'Wrong token.');
    if (!verdict.ok) return verdict;
    const expires = Date.now() + this.sessionMs;
    // The cookie holds an expiry and its HMAC under the token, never the token itself; changing the token ends every session.
    return { ok: true, cookie: adminCookie(sessionCookie, `${expires}.${sign(this.token, `session.${expires}`)}`, { maxAge: this.sessionMs / 1000, secure }) };
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

const behindProxyMessage =
  'TRUST_PROXY is set, so requests may reach the admin through a proxy on this machine and loopback proves nothing: set ADMIN_TOKEN (at least 16 characters) to use the admin';

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
