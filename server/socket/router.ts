import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from './http-error';
import type { Handler } from './handler';
import type { Codec } from './codec';
export { HttpError };
import type { Authenticator, Identity } from './auth';
import type { Connection, Profile } from './connection';
import type { RateLimit } from './rate-limit';


export interface UpgradeOptions {
  channel: string;
  /** Defaults to an anonymous guest profile keyed by the connection id. */
  profile?: Profile;
  handler: Handler;
  /** Translates another JSON dialect at the edge (see codec.ts); default: wsforge frames. */
  codec?: Codec;
}

/**
 * Decides, from the upgrade request, which channel and handler a connection gets (or refuses
 * it with HttpError). `identity` is the verified token's, when the request carried one; the
 * profile defaults to it.
 */
export type RouteResolver = (req: IncomingMessage, url: URL, identity?: Identity) => UpgradeOptions | Promise<UpgradeOptions>;

/** What a channel action needs permission for: joining it, or sending it a frame. */
export type ChannelAction = 'join' | 'publish';

/** Security of one socket route; docs/security.md explains each. */
export interface RouteOptions {
  /** Accept connections without a credential (the examples do; admin never). Default false. */
  anonymous?: boolean;
  /**
   * Identifies the client its own way (e.g. the admin's cookie or loopback rule) instead of by
   * token: resolve an identity, or throw HttpError (401/403).
   */
  identify?: (req: IncomingMessage, url: URL) => Promise<Identity>;
  /** Verifies credentials for this route; default the service's (JWT from config). */
  authenticator?: Authenticator;
  /** Accept the token in a first `auth` frame (within `authTimeoutMs`) instead of at upgrade. Default false. */
  authInFirstMessage?: boolean;
  /**
   * Channels `<namespace>:…` belong to this route: only its clients may join them, and its
   * clients may join nothing else. Give every route with private channels one, so that a more
   * open route (an anonymous example) cannot reach them.
   */
  namespace?: string;
  /**
   * Decides joins (built-in `join` from clients) and publishes (frames to a channel); false →
   * `forbidden`. Without it, clients cannot join channels themselves (the route's own channel,
   * and joins made by its handler, still work).
   */
  authorize?: (conn: Connection, channel: string, action: ChannelAction) => boolean | Promise<boolean>;
  /**
   * Send `online-update` to a channel when one of this route's users arrives in it (first tab)
   * or leaves it (last tab). Default true. Turn it off for broadcast channels with thousands of
   * members: each arrival goes to every member, so filling a channel of n costs n² frames.
   * Presence is still tracked (the built-in `presence` and `sockets.presence()` answer).
   */
  presenceUpdates?: boolean;
  /** Inbound frame rate of each connection; default the service's `rateLimit`. */
  rateLimit?: Partial<RateLimit>;
}

export interface Route {
  resolver: RouteResolver;
  options: RouteOptions;
}

/** Socket routes by exact path: `/example/socket?ch=…` → the example feature's resolver. */
export class SocketRouter {
  private readonly routes = new Map<string, Route>();

  private readonly namespaces = new Set<string>();

  add(path: string, resolver: RouteResolver, options: RouteOptions = {}): void {
    if (this.routes.has(path)) throw new Error(`socket route ${path} is already registered`);
    if (options.namespace !== undefined && !/^[\w-]{1,32}$/.test(options.namespace)) throw new Error(`namespace of ${path}: 1-32 letters, digits, _ or -`);
    this.routes.set(path, { resolver, options });
    if (options.namespace) this.namespaces.add(options.namespace);
  }

  /** The namespace a channel belongs to (`ns:…` with `ns` declared by some route), if any. */
  namespaceOf(channel: string): string | undefined {
    const colon = channel.indexOf(':');
    const ns = colon > 0 ? channel.slice(0, colon) : undefined;
    return ns !== undefined && this.namespaces.has(ns) ? ns : undefined;
  }

  match(url: URL): Route | undefined {
    return this.routes.get(url.pathname);
  }

  paths(): string[] {
    return [...this.routes.keys()];
  }
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
