import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { adminCookie, readCookie } from './cookies';
import { sameSecret, sign } from './secret';

const csrfCookie = 'wsforge_csrf';

/**
 * CSRF tokens for the admin's HTML forms (login, logout): each browser gets a random nonce in an
 * HttpOnly cookie, and its forms carry the nonce's HMAC under a key only this process knows.
 * A forged cross-site form can carry neither, and a planted cookie is useless without the key.
 * Tokens do not survive a restart: the form is then refused, and a reload fixes it.
 */
export class Csrf {
  private readonly key = randomBytes(32);

  /** The token for this browser's forms; gives the browser its nonce cookie on first use. */
  token(req: Request, res: Response): string {
    let nonce = readCookie(req, csrfCookie);
    if (!nonce) {
      nonce = randomBytes(16).toString('base64url');
      res.append('Set-Cookie', adminCookie(csrfCookie, nonce, { secure: req.secure }));
    }
    return sign(this.key, nonce);
  }

  /** True when the submitted form's `csrf` field matches this browser's nonce. */
  verify(req: Request): boolean {
    const nonce = readCookie(req, csrfCookie);
    const sent: unknown = req.body?.csrf;
    return nonce !== undefined && typeof sent === 'string' && sameSecret(sent, sign(this.key, nonce));
  }
}
