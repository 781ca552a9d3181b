import type { IncomingMessage } from 'node:http';
import type { Authenticator, Identity } from './auth';
import type { Codec } from './codec';
import type { HttpError } from './http-error';
import type { SocketLimits } from './limits';
import type { Log } from './log';
import type { Message } from './message';
import type { Profile } from './profile';
import type { RateLimit } from './rate-limit';
import type { CloseInfo, Session } from './session';
import type { ClusterStatus, Status } from './status';
import type { TapListener } from './tap';

/**
 * The public contract of a node: what apps, features and handlers call (`Sockets`), the routes
 * they register, and the `Handler` a route plugs in. They refer to each other, so they share
 * this file; the service (service.ts) implements it. A connection is always named by its id.
 */
export interface Sockets {
  /** This node's id (NODE_ID), in status output and across a cluster. */
  readonly node: string;
  /** The limits in force (limits.ts has each one's env var and default). */
  readonly limits: Readonly<SocketLimits>;
  /**
   * Registers a socket route: upgrades to `path` are admitted (origin, address cap, credential
   * unless `anonymous`) and resolved to a channel, profile and handler.
   */
  route(path: string, resolver: RouteResolver, options?: RouteOptions): void;
  /** Adds the connection to a channel; resolves true when the join created the channel. */
  join(connId: string, channel: string): Promise<boolean>;
  /** Removes the connection from a channel; resolves true when that removed the channel. */
  leave(connId: string, channel: string): Promise<boolean>;
  /** Sends to one connection, on whichever node it is. */
  writeConnection(connId: string, msg: Message): void;
  /** Sends to every member of `msg.channel` on every node, except the given connection ids. */
  writeChannel(msg: Message, ...exceptConnIds: string[]): void;
  /**
   * writeChannel for ephemeral frames (live ink, cursors, frames to clients that never resume): no
   * history position, nothing kept for resume, like presence. In a cluster it is one publish and
   * no history write, so it is cheap to send to a channel that may have nobody in it.
   */
  writeChannelVolatile(msg: Message, ...exceptConnIds: string[]): void;
  writeAll(msg: Message, ...exceptConnIds: string[]): void;
  /** Sends to every tab of one user, on every node. */
  writeUser(userId: string, msg: Message): void;
  /** Closes a connection: with 4000 (the default) the client gets `close-connection` and does not reconnect. */
  disconnect(connId: string, code?: number, reason?: string): void;
  /** Closes every tab of a user, on every node, like `disconnect`. */
  disconnectUser(userId: string, code?: number, reason?: string): void;
  /** Distinct users in a channel, cluster-wide (one entry however many tabs or nodes). */
  presence(channel: string): Promise<Profile[]>;
  /** Settles once the connection has closed and been cleaned up (Forge's ReadLoop). */
  readLoop(connId: string): Promise<CloseInfo>;
  /** This node's connections. */
  getConnection(connId: string): Session | undefined;
  getConnections(): Session[];
  getConnectionsByChannel(channel: string): Session[];
  /** Distinct users in a channel on this node. */
  getUsersByChannel(channel: string): Profile[];
  /** Totals and sizes only: cheap enough to call every second. */
  counts(): Status['counts'];
  /** This node's full status (plain JSON). */
  status(): Status;
  /** Every live node's status merged; `missing` names the nodes that did not answer in time. */
  clusterStatus(): Promise<ClusterStatus>;
  /** Live traffic (the admin tap): nothing is spent on it while nobody subscribes. */
  readonly tap: { readonly active: boolean; subscribe(listener: TapListener): () => void };
  /** The client's address of a request, as the per-address cap counts it (TRUST_PROXY aware). */
  clientAddress(req: IncomingMessage): string;
  /**
   * Why an upgrade of this request would be refused right now before its credentials are looked
   * at (shutting down 503, no route 404, origin 403, the address's cap 429), or undefined. A
   * browser cannot read a refused upgrade's status: a page asks its server this with a plain GET.
   */
  upgradeRefusal(req: IncomingMessage): HttpError | undefined;
  /** Graceful shutdown: refuse upgrades, close everyone with 1001. */
  close(): Promise<void>;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * What a socket route plugs in. `on` handles one frame's cmd and param; its return value (or
 * rejection) answers the frame when it carried a `ref`. Frames from one connection reach `on`
 * strictly in order, even when it is async. `defineHandler` builds one from a protocol.
 */
export interface Handler {
  on(sockets: Sockets, session: Session, cmd: string, param: unknown, log: Log, frame: Message): unknown;
  /** Once the connection is in its route channel, before any of its frames is handled. */
  onOpen?(sockets: Sockets, session: Session, log: Log): MaybePromise<void>;
  /**
   * When a connection that got `onOpen` has closed (still in its channels). One that closed
   * before it got there (while authenticating or joining) gets neither.
   */
  onClose?(sockets: Sockets, session: Session, log: Log): MaybePromise<void>;
  /** Opt in to binary frames; without it they are refused with `binary_unsupported`. */
  onBinary?(sockets: Sockets, session: Session, data: Buffer, log: Log): unknown;
}

/** What a route resolves an upgrade to. */
export interface UpgradeOptions {
  channel: string;
  /** Defaults to the verified identity's profile, else an anonymous guest keyed by the connection id. */
  profile?: Profile;
  handler: Handler;
  /** Translates another JSON dialect at the edge (see codec.ts); default: wsforge frames. */
  codec?: Codec;
}

/**
 * Decides, from the upgrade request, which channel and handler a connection gets (or refuses
 * it by throwing HttpError). `identity` is the verified token's, when the request carried one.
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
  authorize?: (session: Session, channel: string, action: ChannelAction) => boolean | Promise<boolean>;
  /**
   * Announce this route's users to a channel (`presence-diff`, coalesced: docs/protocol.md) when
   * they arrive in it (first tab) or leave it (last tab). Default true. Off, presence is still
   * tracked (the built-in `presence` and `sockets.presence()` answer).
   */
  presenceUpdates?: boolean;
  /**
   * Connections of this route count against their own per-address reserve,
   * `adminConnectionsPerIp` (WS_ADMIN_CONNECTIONS_PER_IP), instead of `maxConnectionsPerIp`: the
   * admin socket still gets in when an address has filled its cap. Only for routes whose
   * `identify` refuses everyone but administrators (the admin's does). Default false.
   */
  reserved?: boolean;
  /** Inbound frame rate of each connection; default the service's `rateLimit`. */
  rateLimit?: Partial<RateLimit>;
  /**
   * Coalesce frames to each connection for this many ms (fewer syscalls and packets, at most
   * this much more latency); default the service's `writeDelayMs` (WS_WRITE_DELAY_MS, 0).
   */
  writeDelayMs?: number;
}
