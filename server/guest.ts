import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
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

/** The secret of apps started without SESSION_SECRET and without the durable store: one per process. */
export const processSecret = randomBytes(32).toString('base64url');

/** The file, in the data directory, that keeps the generated session secret. */
export const SECRET_FILE = 'session-secret';

/**
 * The session secret kept in `dir` (DATA_DIR): read when there is one, else generated, written
 * (owner-only, fsync'd) and used from then on, so guest cookies stay valid across restarts. Two
 * processes starting at once agree: the file is created exclusively, the loser reads the winner's.
 */
export function storedSecret(dir: string): string {
  const path = join(dir, SECRET_FILE);
  const read = () => readFileSync(path, 'utf8').trim();
  try {
    const secret = read();
    if (secret.length >= 16) return secret;
    throw new Error(`${path} holds no usable secret (under 16 characters): delete it to have a new one made, or set SESSION_SECRET`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // Written whole to a file of our own, then linked into place: nobody ever reads half a secret.
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${secret}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  return secret;
}
