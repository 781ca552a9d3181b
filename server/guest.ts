import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parse } from 'cookie';
import type { RequestHandler } from 'express';
import type { Profile } from './socket/profile';

/**
 * Anonymous but stable identity for pages without login: a random id in an HttpOnly cookie,
 * signed by the server, so every tab of one browser is one user and no client can claim
 * another's id. The display name is the only thing a client chooses.
 */
export class GuestIdentity {
  constructor(
    private readonly secret: string,
    readonly cookieName = 'wsf_guest',
  ) {}

  /** Page middleware: gives the browser a signed guest id if it has none. */
  readonly middleware: RequestHandler = (req, res, next) => {
    if (!this.fromRequest(req)) {
      const id = randomUUID();
      res.cookie(this.cookieName, `${id}.${this.sign(id)}`, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: 365 * 864e5 });
    }
    next();
  };

  /** The verified guest id carried by a request (page or upgrade), if any. */
  fromRequest(req: IncomingMessage): string | undefined {
    const raw = req.headers.cookie ? parse(req.headers.cookie)[this.cookieName] : undefined;
    if (!raw) return undefined;
    const dot = raw.lastIndexOf('.');
    const id = raw.slice(0, dot);
    const mac = Buffer.from(raw.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    return dot > 0 && mac.length === expected.length && timingSafeEqual(mac, expected) ? id : undefined;
  }

  /**
   * The profile of a socket upgrade: the signed guest id (undefined without the cookie: the
   * service then makes a per-connection guest) and a display name from `?name=`, cleaned.
   */
  profile(req: IncomingMessage, url: URL): Profile | undefined {
    const id = this.fromRequest(req);
    if (!id) return undefined;
    return { id, name: displayName(url.searchParams.get('name')) ?? `guest-${id.slice(0, 4)}` };
  }

  private sign(id: string): string {
    return createHmac('sha256', this.secret).update(id).digest('base64url');
  }
}

/** A display name: printable, trimmed, at most 32 characters; undefined when nothing is left. */
export function displayName(raw: string | null | undefined): string | undefined {
  const name = (raw ?? '').replace(/[\p{C}]/gu, '').trim().slice(0, 32);
  return name || undefined;
}
