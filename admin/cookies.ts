import type { IncomingMessage } from 'node:http';
import { parse, serialize } from 'cookie';

/** One cookie of a request (page or socket upgrade). */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  return req.headers.cookie ? parse(req.headers.cookie)[name] : undefined;
}

interface CookieOptions {
  /** Seconds; 0 deletes the cookie; absent: until the browser closes. */
  maxAge?: number;
  /** Only over HTTPS: set when the request came in over TLS. */
  secure: boolean;
}

/**
 * A Set-Cookie value for the admin: HttpOnly (no script can read it), SameSite=Strict (never sent
 * along from another site) and scoped to /admin.
 */
export function adminCookie(name: string, value: string, { maxAge, secure }: CookieOptions): string {
  return serialize(name, value, { path: '/admin', maxAge, httpOnly: true, sameSite: 'strict', secure });
}
