import type { IncomingMessage } from 'node:http';

/** The request's cookies by name (first one wins); values that are not valid URI escapes are skipped. */
export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // A malformed cookie is someone else's problem: ignore it rather than fail the request.
    }
  }
  return cookies;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie; absent: until the browser closes. */
  maxAge?: number;
  /** Only over HTTPS: set when the request came in over TLS. */
  secure: boolean;
}

/**
 * A Set-Cookie value for the admin: HttpOnly (no script can read it), SameSite=Strict (never sent
 * from another site) and scoped to /admin.
 */
export function adminCookie(name: string, value: string, { maxAge, secure }: CookieOptions): string {
  const age = maxAge === undefined ? '' : `; Max-Age=${maxAge}`;
  return `${name}=${encodeURIComponent(value)}; Path=/admin${age}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
