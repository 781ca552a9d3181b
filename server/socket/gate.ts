import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { tokenFrom, type Authenticator, type Identity } from './auth';
import { ErrorCode, SocketError } from './errors';
import { HttpError } from './http-error';
import type { SocketLimits } from './limits';
import type { OriginPolicy } from './origin';
import type { RouteOptions } from './sockets';

/** What the gate keeps track of in an open connection: its address's slot and its credential's expiry. */
export interface Admitted {
  readonly remoteAddress: string;
  expiresAt?: number;
}

/** The connections per client address of one pool: the common cap, or the admin's reserve. */
type Pool = Map<string, number>;

export interface GateOptions extends Pick<SocketLimits, 'maxConnectionsPerIp' | 'adminConnectionsPerIp' | 'tokenWarnMs'> {
  origins: OriginPolicy;
  /** The client's address of a request: what the per-address cap counts. */
  clientAddress: (req: IncomingMessage) => string;
  /** Verifies tokens on routes that do not bring their own; none → tokens are refused. */
  authenticator?: Authenticator;
}

/**
 * Who gets in and for how long: origin and per-address checks and authentication before the
 * handshake (so refusals are HTTP statuses and no connection ever exists), then the
 * credential's lifetime (warning, refresh, close on expiry).
 */
export class Gate {
  private readonly perIp: Pool = new Map();
  /** Connections of `reserved` routes (the admin's), counted apart from `perIp`. */
  private readonly reservedPerIp: Pool = new Map();
  /** The address (and pool) each admitted socket counts against, until it opens a connection (which then holds the slot) or closes. */
  private readonly slots = new WeakMap<Duplex, { ip: string; pool: Pool }>();
  /** Open connections that hold a slot of the reserve. */
  private readonly reservedConns = new WeakSet<Admitted>();
  /**
   * Per connection with a credential: the timer of its next warning or expiry, and the expiry it
   * was last warned about (a refresh that does not extend it is not warned again).
   */
  private readonly credentials = new WeakMap<Admitted, { timer?: NodeJS.Timeout; warned?: number }>();

  /** One listener for every socket (it gets the socket as `this`): no closure per connection. */
  private readonly releaseOnClose: (this: Duplex) => void;

  constructor(readonly options: GateOptions) {
    const gate = this;
    this.releaseOnClose = function () {
      gate.release(this);
    };
  }

  /**
   * Throws HttpError (403, 429, 401) or resolves the request's verified identity, if any.
   * An admitted request holds one of its address's slots until its socket closes; call
   * `release` when the upgrade is refused later on.
   */
  async admit(req: IncomingMessage, url: URL, route: RouteOptions): Promise<Identity | undefined> {
    const place = this.place(req, route);
    if (place instanceof HttpError) throw place;
    const { ip, pool } = place;
    // Counted from here, not from the handshake: upgrades still verifying a token (WebCrypto, a
    // JWKS fetch) would otherwise all pass the cap together.
    this.hold(req.socket, ip, pool);
    try {
      if (route.identify) return await route.identify(req, url);
      const token = tokenFrom(req, url);
      if (token) return await this.authenticator(route, (m) => new HttpError(401, m)).verify(token);
      if (route.anonymous || route.authInFirstMessage) return undefined;
      throw new HttpError(401, 'authentication required: send a token as ?token=, Authorization: Bearer, or a bearer.<token> subprotocol');
    } catch (err) {
      this.release(req.socket);
      throw err;
    }
  }

  /**
   * What admit() would refuse right now before any credential is looked at (the origin, the
   * address's cap), without taking a slot: a page that cannot read a refused upgrade's status asks this.
   */
  refusal(req: IncomingMessage, route: RouteOptions): HttpError | undefined {
    const place = this.place(req, route);
    return place instanceof HttpError ? place : undefined;
  }

  /** The address and pool a request would count against, or why it may not. */
  private place(req: IncomingMessage, route: RouteOptions): HttpError | { ip: string; pool: Pool } {
    if (!this.options.origins.allows(req)) return new HttpError(403, `origin ${req.headers.origin} is not allowed (WS_ALLOWED_ORIGINS)`);
    const ip = this.options.clientAddress(req);
    const pool = route.reserved ? this.reservedPerIp : this.perIp;
    if ((pool.get(ip) ?? 0) < this.capOf(pool)) return { ip, pool };
    return new HttpError(
      429,
      route.reserved
        ? `too many admin connections from this address (WS_ADMIN_CONNECTIONS_PER_IP=${this.options.adminConnectionsPerIp})`
        : `too many connections from this address (WS_MAX_CONNECTIONS_PER_IP=${this.options.maxConnectionsPerIp})`,
    );
  }

  /** Verifies a token sent over the socket (`auth`, `refresh`); failures are `unauthorized` errors. */
  async verify(token: unknown, route: RouteOptions): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new SocketError(ErrorCode.unauthorized, 'param.token must be a non-empty string');
    try {
      return await this.authenticator(route, (m) => new SocketError(ErrorCode.unauthorized, m)).verify(token);
    } catch (err) {
      if (err instanceof HttpError) throw new SocketError(ErrorCode.unauthorized, err.message);
      throw err;
    }
  }

  /**
   * A connection on `socket` is open: it takes over the socket's slot (or takes one, when
   * upgrade() was called without admit()) until `closed`, so the socket needs neither a listener
   * nor an entry of its own (an idle connection's footprint counts).
   */
  opened(conn: Admitted, socket: Duplex): void {
    const slot = this.slots.get(socket);
    if (slot) {
      socket.removeListener('close', this.releaseOnClose);
      this.slots.delete(socket);
      if (slot.pool === this.reservedPerIp) this.reservedConns.add(conn);
    } else this.count(this.perIp, conn.remoteAddress, 1);
  }

  closed(conn: Admitted): void {
    clearTimeout(this.credentials.get(conn)?.timer);
    this.count(this.reservedConns.delete(conn) ? this.reservedPerIp : this.perIp, conn.remoteAddress, -1);
  }

  /** Gives back the slot of a socket whose upgrade was refused (also done when it closes; twice is harmless). */
  release(socket: Duplex): void {
    const slot = this.slots.get(socket);
    if (slot === undefined) return;
    this.slots.delete(socket);
    this.count(slot.pool, slot.ip, -1);
  }

  /** Counts the socket against its address until it closes, whatever becomes of its upgrade (a client may vanish mid-admission). */
  private hold(socket: Duplex, ip: string, pool: Pool): void {
    this.slots.set(socket, { ip, pool });
    this.count(pool, ip, 1);
    socket.on('close', this.releaseOnClose);
  }

  private capOf(pool: Pool): number {
    return pool === this.reservedPerIp ? this.options.adminConnectionsPerIp : this.options.maxConnectionsPerIp;
  }

  private count(pool: Pool, ip: string, delta: 1 | -1): void {
    const n = (pool.get(ip) ?? 0) + delta;
    if (n > 0) pool.set(ip, n);
    else pool.delete(ip);
  }

  /**
   * (Re)schedules the end of a connection's credential: `warn` a little before `expiresAt`,
   * `expire` at it. A refresh calls this again with the new expiry.
   */
  watch(conn: Admitted, expiresAt: number | undefined, warn: () => void, expire: () => void): void {
    const credential = this.credentials.get(conn);
    clearTimeout(credential?.timer);
    conn.expiresAt = expiresAt;
    if (expiresAt === undefined) return;
    const c = credential ?? {};
    if (!credential) this.credentials.set(conn, c);
    const warnAt = expiresAt - this.options.tokenWarnMs;
    const tick = (warned: boolean): void => {
      const now = Date.now();
      if (now >= expiresAt) return expire();
      if (!warned && now >= warnAt) {
        warn();
        warned = true;
        c.warned = expiresAt;
      }
      c.timer = later((warned ? expiresAt : warnAt) - now, () => tick(warned));
    };
    // Warned already about this very expiry (a refresh with a token that does not extend it, e.g. a
    // client's cached one): warning again at once would loop refresh ↔ token-expiring.
    tick(c.warned === expiresAt);
  }

  private authenticator(route: RouteOptions, error: (message: string) => Error): Authenticator {
    const a = route.authenticator ?? this.options.authenticator;
    if (!a) throw error('this server verifies no tokens: set JWT_SECRET or JWT_JWKS_URL');
    return a;
  }
}

function later(ms: number, fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1))).unref();
}
