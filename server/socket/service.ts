import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { WebSocketServer, type WebSocket } from 'ws';
import { LocalBus, type Bus, type Delivery, type DisconnectTarget, type Target } from './bus';
import { Channel } from './channel';
import { peerAddress } from './client-address';
import type { Codec } from './codec';
import { Connection, type CloseInfo, type Profile, type RouteContext } from './connection';
import { CloseCode, ErrorCode, SocketError } from './errors';
import { encode, errorFrame, parseFrame, type FrameError, type Message, type Ref } from './message';
import { wsforgeProtocol, type Authenticator, type Identity } from './auth';
import { textFrame, WriteBatch } from './frame';
import { Gate } from './gate';
import { Inbox } from './inbox';
import { OriginPolicy } from './origin';
import { rateLimitDefaults, type RateLimit } from './rate-limit';
import { HttpError, refuseUpgrade, SocketRouter, type ChannelAction, type RouteOptions, type RouteResolver, type UpgradeOptions } from './router';
import { timed, type Observer } from './observer';
import { compareOffsets, historyDefaults, offsetOf, positionOf, type Position } from './history';
import { Counters, type ChannelStatus, type ClusterStatus, type Status } from './status';
import { Tap } from './tap';

/** Every limit of the service; the README lists them with their env vars. */
export interface ServiceOptions {
  /** Largest inbound frame in bytes; a larger one closes the connection with 1009. */
  maxPayload: number;
  /** Outbound bytes a connection may have buffered before it is closed as a slow consumer (4008). */
  maxBufferedBytes: number;
  /** How often the server pings; a connection that has not answered by the next ping is terminated. */
  pingIntervalMs: number;
  /** How long close() waits for clients to finish the close handshake before cutting them off. */
  shutdownTimeoutMs: number;
  /** How long a server-initiated close (kick, slow consumer) waits for the peer before terminating. */
  closeGraceMs: number;
  /** Frames queued behind an async handler before the service stops reading from that connection. */
  inboxLimit: number;
  /** Channels one connection may be in at once; more gets a `limit_exceeded` error. */
  maxChannelsPerConnection: number;
  /** Longest channel name accepted from clients and routes. */
  maxChannelNameLength: number;
  /** Channel frames kept for resuming after a reconnect (0 disables history). Used by the default LocalBus. */
  historySize: number;
  /** How long, in ms, channel frames are kept for resuming. Used by the default LocalBus. */
  historyTtlMs: number;
  /** How long clusterStatus() waits for other nodes' answers. */
  clusterStatusTimeoutMs: number;
  /** Inbound frame budget per connection (routes may override): excess frames get `rate_limited`. */
  rateLimit: RateLimit;
  /** Open connections allowed from one remote address; more get HTTP 429. */
  maxConnectionsPerIp: number;
  /** The client's address of a request (client-address.ts): the TCP peer unless proxies are trusted (TRUST_PROXY). */
  clientAddress: (req: IncomingMessage) => string;
  /** Browser origins allowed to connect (403 otherwise). Default: same origin, plus localhost. */
  origins: OriginPolicy;
  /** Verifies tokens for routes without their own authenticator (JWT from config); none → only anonymous routes work. */
  authenticator?: Authenticator;
  /** Deadline for the first `auth` frame on `authInFirstMessage` routes. */
  authTimeoutMs: number;
  /** How long before a credential expires its connection is sent `token-expiring`. */
  tokenWarnMs: number;
  /** This node's id in status and across a cluster. */
  nodeId: string;
  bus: Bus;
  logger: Logger;
  /** Metrics hooks; absent by default, and then nothing is measured. */
  observer?: Observer;
}

export const serviceDefaults = {
  maxPayload: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  pingIntervalMs: 25_000,
  shutdownTimeoutMs: 5_000,
  closeGraceMs: 1_000,
  inboxLimit: 64,
  maxChannelsPerConnection: 128,
  maxChannelNameLength: 128,
  historySize: historyDefaults.size,
  historyTtlMs: historyDefaults.ttlMs,
  clusterStatusTimeoutMs: 1_000,
  rateLimit: rateLimitDefaults,
  maxConnectionsPerIp: 256,
  authTimeoutMs: 5_000,
  tokenWarnMs: 60_000,
} satisfies Partial<ServiceOptions>;

/**
 * Holds the live connections of one node, keyed by UUID, and their channels.
 * Writes are serialized once and go through the bus, so the same calls reach every node of
 * a cluster; `deliver` is the bus calling back to hand a frame to this node's connections.
 */
export class SocketService implements Delivery {
  readonly options: ServiceOptions;
  readonly node: string;
  readonly routes = new SocketRouter();
  /** Live traffic for the admin tap; idle (and free) until someone subscribes. */
  readonly tap = new Tap();
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, Connection>();
  private readonly channels = new Map<string, Channel>();
  /** Each registered route's RouteContext, by path. */
  private readonly contexts = new Map<string, RouteContext>();
  /**
   * Joins between `enter` and `arrive` (waiting for the bus or a history read), as
   * `<conn id>\t<channel>`: a leave in that window must neither uncount a presence that was never
   * counted (another tab's) nor let the join count it afterwards (a ghost).
   */
  private readonly arriving = new Set<string>();
  /**
   * Every tab of each user; an array, not a Set, because most users have one and idle memory
   * counts. Guests are not here: a guest's user id is its connection id, and `connections` finds it.
   */
  private readonly users = new Map<string, Connection[]>();
  /** Counters of connections that have closed, so status() totals survive them. */
  private readonly closedTotals = new Counters();
  private readonly pendingHandshakes = new WeakMap<Duplex, (err: Error) => void>();
  private readonly startedAt = Date.now();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private accepting = true;
  private readonly bus: Bus;
  private readonly gate: Gate;
  private readonly batch = new WriteBatch();

  constructor(options: Partial<ServiceOptions> = {}) {
    const history = { size: options.historySize ?? serviceDefaults.historySize, ttlMs: options.historyTtlMs ?? serviceDefaults.historyTtlMs };
    this.options = {
      ...serviceDefaults,
      nodeId: options.nodeId ?? uuidv4().slice(0, 8),
      bus: options.bus ?? new LocalBus(history),
      origins: options.origins ?? new OriginPolicy([], true),
      clientAddress: options.clientAddress ?? peerAddress,
      logger: options.logger ?? pino({ level: 'warn' }),
      ...stripUndefined(options),
    } as ServiceOptions;
    this.node = this.options.nodeId;
    this.bus = this.options.bus;
    this.log = this.options.logger.child({ node: this.node });
    this.gate = new Gate(this.options);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // A token offered as a `bearer.<token>` subprotocol needs a protocol to be selected, or browsers fail the handshake.
      handleProtocols: (offered) => (offered.has(wsforgeProtocol) ? wsforgeProtocol : false),
    });
    // With a listener, ws leaves refusing a bad handshake to us, so the waiting upgrade can settle.
    this.wss.on('wsClientError', (err, socket) => this.pendingHandshakes.get(socket)?.(new HttpError(400, err.message)));
    void this.bus.start(this);
    this.heartbeat = setInterval(() => this.sweep(), this.options.pingIntervalMs).unref();
  }

  /**
   * Registers a socket route: upgrades to `path` are admitted (origin, address cap, credential
   * unless `anonymous`) and resolved to a channel, profile and handler.
   */
  route(path: string, resolver: RouteResolver, options: RouteOptions = {}): void {
    this.routes.add(path, resolver, options);
    this.contexts.set(path, this.makeContext(path, options));
  }

  /** What the connections of one route share; registered routes make theirs once. */
  private makeContext(path: string, options: RouteOptions): RouteContext {
    const o = this.options;
    return { path, options, rateLimit: options.rateLimit ? { ...o.rateLimit, ...options.rateLimit } : o.rateLimit, limits: o, log: this.log };
  }

  private contextOf(req: IncomingMessage, options: RouteOptions): RouteContext {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const known = this.contexts.get(path);
    return known?.options === options ? known : this.makeContext(path, options);
  }

  /** The http server's 'upgrade' listener: routes by path, refuses unknown paths with 404. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.routeUpgrade(req, socket, head);
  };

  /** Shared by every upgrading socket (no closure each): a client vanishing mid-upgrade is no crash. */
  private readonly onUpgradeError = (err: Error): void => this.log.debug({ err }, 'socket error during upgrade');

  private async routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Before any route runs its own checks or work: nothing new gets in while shutting down.
    if (!this.accepting) return refuseUpgrade(socket, 503, 'server is shutting down');
    socket.on('error', this.onUpgradeError);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.routes.match(url);
    if (!route) return refuseUpgrade(socket, 404, `no socket route at ${url.pathname}`);
    try {
      const identity = await this.gate.admit(req, url, route.options);
      const opts = await route.resolver(req, url, identity);
      await this.upgrade(req, socket, head, { ...opts, profile: opts.profile ?? identity?.profile }, route.options, identity);
    } catch (err) {
      this.gate.release(socket);
      if (err instanceof HttpError) return refuseUpgrade(socket, err.status, err.message);
      this.log.error({ err, path: url.pathname }, 'socket route failed');
      refuseUpgrade(socket, 500, 'internal error');
    }
  }

  /**
   * Completes the WebSocket handshake and registers the connection in `channel`.
   * Rejects with HttpError (and answers the client) when the request cannot be upgraded.
   * `route` and `identity` come from routing; an embedder calling this directly has done its own checks.
   */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, opts: UpgradeOptions, route: RouteOptions = {}, identity?: Identity): Promise<Connection> {
    if (!this.accepting) throw new HttpError(503, 'server is shutting down');
    this.checkChannelName(opts.channel, (msg) => new HttpError(400, msg));
    const ws = await this.handshake(req, socket, head);
    // The existing channel's own key: one string, not one per member.
    const channel = this.channels.get(opts.channel)?.key ?? opts.channel;
    const conn = new Connection(ws, req, this.options.clientAddress(req), channel, opts.profile, opts.handler, opts.codec, this.contextOf(req, route));
    this.connections.set(conn.id, conn);
    this.gate.opened(conn, socket);
    this.listen(conn);
    // Without a credential yet (authInFirstMessage), the profile is known only once `auth` arrives.
    const authenticated = route.authInFirstMessage && !identity ? this.awaitAuth(conn) : Promise.resolve();
    if (identity) this.watchCredential(conn, identity.expiresAt);
    this.admit(conn, authenticated, conn.codec ? undefined : resumePosition(req, conn.channel));
    this.log.debug({ conn: conn.id, channel: conn.channel, user: conn.profile.id }, 'connected');
    return conn;
  }

  /**
   * The handshake, in a function of its own: closures made here hold the upgrade request, and
   * none of them outlives it (a listener sharing this scope would keep the request alive).
   */
  private async handshake(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      this.pendingHandshakes.set(socket, reject);
      this.wss.handleUpgrade(req, socket, head, resolve);
    });
    this.pendingHandshakes.delete(socket);
    // ws handles the socket's errors from here on.
    socket.removeListener('error', this.onUpgradeError);
    return ws;
  }

  /**
   * The connection's WebSocket events. The listeners are shared by all connections (ws calls
   * them with the WebSocket as `this`, which carries its Connection): idle connections then
   * hold no closures of their own.
   */
  private listen(conn: Connection): void {
    const { ws } = conn;
    (ws as Wired)[connOf] = conn;
    // No 'pong' listener: the ping round reads the socket's byte count instead (a fourth listener
    // turns ws's listener table into a dictionary, a few hundred bytes per connection).
    ws.on('message', this.wsListeners.message);
    ws.on('error', this.wsListeners.error);
    ws.on('close', this.wsListeners.close);
  }

  private readonly wsListeners = ((svc: SocketService) => ({
    message(this: WebSocket, data: Buffer, isBinary: boolean) {
      svc.onFrame((this as Wired)[connOf], data, isBinary);
    },
    error(this: WebSocket, err: Error) {
      const conn = (this as Wired)[connOf];
      conn.errors++;
      // A protocol error (frame too big, bad UTF-8…): ws has sent its close code and stops
      // reading, so the peer's answer is never seen and 'close' would report only 1006.
      conn.serverClose ??= { code: protocolCloseCode(err), reason: '' };
      svc.options.observer?.error((err as { code?: string }).code ?? 'websocket_error');
      conn.log.debug({ err }, 'websocket error');
    },
    close(this: WebSocket, code: number, reason: Buffer) {
      const conn = (this as Wired)[connOf];
      void svc.onClosed(conn, conn.serverClose ?? { code, reason: reason.toString() });
    },
  }))(this);

  /** First in the inbox, so no frame is handled before the route channel is joined and onOpen ran. */
  private admit(conn: Connection, authenticated: Promise<void>, since: Position | undefined): void {
    Inbox.push(conn, () =>
      this.guard(conn, conn.channel, undefined, async () => {
        await authenticated;
        await this.addUser(conn);
        if (since) await this.resume(conn, conn.channel, since);
        else await this.join(conn.id, conn.channel);
        // Closed meanwhile (a join can wait for the bus): cleaned up already, without onClose; no onOpen either.
        if (this.connections.get(conn.id) !== conn) return;
        conn.admitted = true;
        await conn.handler.onOpen?.(this, conn, conn.log);
      }),
    );
  }

  /** Indexes the connection under its user and subscribes its topics (user on the first tab). */
  private addUser(conn: Connection): Promise<unknown> {
    const guest = isGuest(conn);
    const tabs = guest ? undefined : this.users.get(conn.profile.id);
    if (tabs) tabs.push(conn);
    // A literal: `[]` then push would reserve room for 16 tabs.
    else if (!guest) this.users.set(conn.profile.id, [conn]);
    const firstTab = tabs === undefined;
    return Promise.all([this.bus.subscribe({ type: 'conn', connId: conn.id }), firstTab ? this.bus.subscribe({ type: 'user', userId: conn.profile.id }) : undefined]);
  }

  /** Undoes addUser (also for a connection that closed before it got there). */
  private removeUser(conn: Connection): void {
    const tabs = this.users.get(conn.profile.id);
    const tab = tabs?.indexOf(conn) ?? -1;
    if (tab >= 0) tabs!.splice(tab, 1);
    if (tabs?.length === 0) this.users.delete(conn.profile.id);
    if (tabs?.length === 0 || isGuest(conn)) void this.bus.unsubscribe({ type: 'user', userId: conn.profile.id });
    void this.bus.unsubscribe({ type: 'conn', connId: conn.id });
  }

  /** Every tab of a user on this node. */
  private tabsOf(userId: string): Connection[] | undefined {
    const tabs = this.users.get(userId);
    if (tabs) return tabs;
    const guest = this.connections.get(userId);
    return guest && isGuest(guest) ? [guest] : undefined;
  }

  /** Resolves once the connection's first frame authenticated it; closes it with 4001 otherwise. */
  private awaitAuth(conn: Connection): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => conn.close(CloseCode.authExpired, 'authentication timeout'), this.options.authTimeoutMs).unref();
      conn.pendingAuth = {
        admit: () => {
          clearTimeout(timer);
          conn.pendingAuth = undefined;
          resolve();
        },
        verifying: false,
      };
    });
  }

  /** Handles the `auth` frame of a connection that has not authenticated yet; anything else closes it. */
  private async authenticate(conn: Connection, frame: Message | undefined): Promise<void> {
    // Frames after this one queue in the inbox behind the first task, which waits for `done`.
    const pending = conn.pendingAuth!;
    if (frame?.cmd !== 'auth') return conn.close(CloseCode.authExpired, 'the first frame must be auth');
    pending.verifying = true;
    try {
      const identity = await this.gate.verify((frame.param as { token?: unknown } | null)?.token, conn.routeOptions);
      conn.profile = identity.profile;
      this.watchCredential(conn, identity.expiresAt);
      pending.admit();
      if (frame.ref !== undefined) this.reply(conn, frame.channel, frame.ref, { profile: identity.profile, expiresAt: identity.expiresAt ?? null });
    } catch (err) {
      this.fail(conn, frame.channel, err, frame.ref);
      conn.close(CloseCode.authExpired, 'authentication failed');
    }
  }

  /** Warns before the credential expires and closes the connection (4001) when it does. */
  private watchCredential(conn: Connection, expiresAt: number | undefined): void {
    this.gate.watch(
      conn,
      expiresAt,
      () => this.sendDirect(conn, { channel: conn.channel, cmd: 'token-expiring', param: { expiresAt: expiresAt! } }),
      () => conn.close(CloseCode.authExpired, 'token expired'),
    );
  }

  /** Settles when the connection has closed and been cleaned up (Forge's ReadLoop). */
  readLoop(connId: string): Promise<CloseInfo> {
    const conn = this.connections.get(connId);
    return conn ? conn.closed : Promise.reject(new Error(`unknown connection ${connId}`));
  }

  /** Adds the connection to a channel; resolves true when the channel was created by this join. */
  async join(connId: string, channel: string): Promise<boolean> {
    const conn = this.requireConnection(connId);
    if (conn.channels.includes(channel)) return false;
    const created = await this.enter(conn, channel);
    await this.arrive(conn, channel);
    return created;
  }

  /** Local membership, once this node receives the channel's frames; true when the channel was created. */
  private async enter(conn: Connection, channel: string): Promise<boolean> {
    // A connection that closed while this join was on its way (resume takes it, not its id) stays out.
    if (this.connections.get(conn.id) !== conn) throw new SocketError(ErrorCode.unknownConnection, `connection ${conn.id} has closed`);
    this.checkChannelName(channel, (msg) => new SocketError(ErrorCode.invalidFrame, msg));
    if (conn.channels.length >= this.options.maxChannelsPerConnection) {
      throw new SocketError(ErrorCode.limitExceeded, `a connection may be in at most ${this.options.maxChannelsPerConnection} channels`);
    }
    let ch = this.channels.get(channel);
    const created = !ch;
    if (!ch) {
      this.channels.set(channel, (ch = new Channel(channel)));
      ch.ready = this.bus.subscribe({ type: 'channel', channel });
    }
    conn.joined(ch);
    ch.members.add(conn);
    this.arriving.add(`${conn.id}\t${channel}`);
    await ch.ready;
    return created;
  }

  /** Cluster presence, and online-update to the others on the user's first join anywhere. */
  private async arrive(conn: Connection, channel: string): Promise<void> {
    // Gone when the connection left (or closed) meanwhile: then there is nothing to count.
    if (!this.arriving.delete(`${conn.id}\t${channel}`)) return;
    if ((await this.bus.presence.join(channel, conn.profile)) && conn.routeOptions.presenceUpdates !== false) this.announce(conn.profile, channel, true, conn.id);
  }

  /**
   * Joins (if needed) and replays what the connection missed since `since`, in order, before
   * any live frame of that channel; or sends `recovery-failed` so the app can resync.
   * Resolves whether the channel was created and whether the replay was complete.
   */
  async resume(conn: Connection, channel: string, since: Position): Promise<{ created: boolean; recovered: boolean }> {
    // Live frames arriving while history is read wait here, so nothing overtakes the replay.
    // Already a member: it has had live frames since it joined, so a replay would repeat them.
    if (conn.channels.includes(channel)) {
      this.sendDirect(conn, { channel, cmd: 'recovery-failed', param: { reason: 'already a member: what was missed before joining cannot be told apart' } });
      return { created: false, recovered: false };
    }
    const held: string[] = [];
    (conn.recovering ??= new Map()).set(channel, held);
    let missed: string[] | undefined;
    let created: boolean;
    try {
      created = await this.enter(conn, channel);
      missed = await this.bus.history.since(channel, since);
    } finally {
      conn.recovering.delete(channel);
      if (conn.recovering.size === 0) conn.recovering = undefined;
    }
    // First, so the app resyncs before it applies any frame that follows (and the client's new position sticks).
    if (!missed) this.sendDirect(conn, { channel, cmd: 'recovery-failed', param: { reason: 'history for this position is gone (epoch changed or too old)' } });
    let last = since.offset;
    for (const data of missed ?? []) {
      conn.send(data, Buffer.byteLength(data));
      last = offsetOf(data) ?? last;
    }
    for (const data of held) {
      const offset = offsetOf(data);
      // Frames already replayed from history are skipped; unpositioned ones always pass.
      if (!missed || offset === undefined || compareOffsets(offset, last) > 0) {
        conn.send(data, Buffer.byteLength(data));
        if (missed && offset !== undefined) last = offset;
      }
    }
    // Frames up to `last` may still be in flight on the pub/sub connection: deliver() drops them.
    if (missed && last !== since.offset) (conn.replayedTo ??= new Map()).set(channel, { epoch: since.epoch, offset: Number(last) });
    // Announced after history was read: history keeps no `except`, so the replay would show the joiner its own arrival.
    await this.arrive(conn, channel);
    return { created, recovered: missed !== undefined };
  }

  /** Removes the connection from a channel; resolves true when that removed the channel (last member). */
  async leave(connId: string, channel: string): Promise<boolean> {
    const conn = this.connections.get(connId);
    return conn ? this.leaveConnection(conn, channel) : false;
  }

  private async leaveConnection(conn: Connection, channel: string): Promise<boolean> {
    const ch = this.channels.get(channel);
    if (!ch || !ch.members.delete(conn)) return false;
    conn.left(channel);
    const counted = !this.arriving.delete(`${conn.id}\t${channel}`);
    const removed = ch.size === 0;
    if (removed) {
      this.channels.delete(channel);
      await this.bus.unsubscribe({ type: 'channel', channel });
    }
    if (counted && (await this.bus.presence.leave(channel, conn.profile)) && conn.routeOptions.presenceUpdates !== false) this.announce(conn.profile, channel, false, conn.id);
    return removed;
  }

  /** online-update to the channel's other members, on a user's first join and last leave (cluster-wide). */
  private announce(user: Profile, channel: string, connected: boolean, except?: string): void {
    const msg = { channel, cmd: 'online-update', param: { userId: user.id, name: user.name, connected } };
    // Presence is volatile (as in Centrifugo): kept out of history, so joins and leaves do not push
    // messages out of it; a resumed client asks for the built-in `presence` instead.
    this.publish({ type: 'channel', channel }, msg, except ? [except] : noneExcepted, true);
  }

  /** Bus callback: a user vanished with a dead node; tell the channel as if they had left. */
  userGone(channel: string, user: Profile): void {
    this.announce(user, channel, false);
  }

  /** Distinct users in a channel across the cluster (one entry however many tabs or nodes). */
  presence(channel: string): Promise<Profile[]> {
    return this.bus.presence.users(channel);
  }

  writeConnection(connId: string, msg: Message): void {
    this.publish({ type: 'conn', connId }, msg, noneExcepted);
  }

  /** Sends to every member of `msg.channel`, except the given connection ids. */
  writeChannel(msg: Message, ...exceptConnIds: string[]): void {
    this.publish({ type: 'channel', channel: msg.channel }, msg, exceptConnIds);
  }

  writeAll(msg: Message, ...exceptConnIds: string[]): void {
    this.publish({ type: 'all' }, msg, exceptConnIds);
  }

  /** Sends to every connection (every tab) of one user. */
  writeUser(userId: string, msg: Message): void {
    this.publish({ type: 'user', userId }, msg, noneExcepted);
  }

  /** Serializes once, whatever the number of recipients or nodes. */
  private publish(target: Target, msg: Message, except: readonly string[], volatile = false): void {
    const data = encode(msg);
    if (this.tap.active) this.tapOut(target, msg, data);
    this.bus.publish(target, data, except, volatile);
  }

  private tapOut(target: Target, msg: Message, data: string): void {
    const to = target.type === 'conn' ? 'conn' : target.type === 'user' ? `user:${target.userId}` : target.type;
    const conn = target.type === 'conn' ? target.connId : undefined;
    this.tap.emit({ dir: 'out', conn, target: to, channel: msg.channel, cmd: msg.cmd, size: Buffer.byteLength(data) }, data);
  }

  /**
   * Closes a connection from the server. With the default code 4000 the client first gets
   * `close-connection` and will not reconnect; other codes let it reconnect.
   */
  disconnect(connId: string, code: number = CloseCode.kicked, reason = 'disconnected by server'): void {
    this.bus.disconnect({ type: 'conn', connId }, code, reason.slice(0, 120));
  }

  /** Closes every tab of a user, on every node, like `disconnect`. */
  disconnectUser(userId: string, code: number = CloseCode.kicked, reason = 'disconnected by server'): void {
    this.bus.disconnect({ type: 'user', userId }, code, reason.slice(0, 120));
  }

  /** Bus callback: hand one serialized frame to this node's recipients. */
  deliver(target: Target, data: string, except: readonly string[]): void {
    const bytes = Buffer.byteLength(data);
    let recipients: Iterable<Connection> | undefined;
    switch (target.type) {
      case 'channel':
        recipients = this.channels.get(target.channel)?.members.values();
        break;
      case 'all':
        recipients = this.connections.values();
        break;
      case 'user':
        recipients = this.tabsOf(target.userId);
        break;
      case 'conn':
        recipients = this.connections.has(target.connId) ? [this.connections.get(target.connId)!] : undefined;
        break;
    }
    if (!recipients) return;
    let dialects: Translations | undefined;
    let frame: Buffer | undefined;
    for (const c of recipients) {
      if (except.length !== 0 && except.includes(c.id)) continue;
      if (c.recovering !== undefined && target.type === 'channel' && c.recovering.has(target.channel)) c.recovering.get(target.channel)!.push(data);
      else if (c.replayedTo !== undefined && target.type === 'channel' && alreadyReplayed(c, target.channel, data)) continue;
      else if (c.codec === undefined) c.sendFrame((frame ??= textFrame(data)), bytes, this.batch);
      else (dialects ??= new Translations(data)).send(c, c.codec);
    }
  }

  /** Bus callback: close the connection, or the user's tabs, that live on this node. */
  disconnectLocal(target: DisconnectTarget, code: number, reason: string): number {
    const conns = target.type === 'conn' ? [this.connections.get(target.connId)] : [...(this.tabsOf(target.userId) ?? [])];
    let closed = 0;
    for (const conn of conns) {
      if (!conn || conn.closing) continue;
      if (code === CloseCode.kicked) this.sendDirect(conn, { channel: conn.channel, cmd: 'close-connection', param: { reason } });
      conn.close(code, reason);
      closed++;
    }
    return closed;
  }

  getConnection(id: string): Connection | undefined {
    return this.connections.get(id);
  }

  getConnections(): Connection[] {
    return [...this.connections.values()];
  }

  getConnectionsByChannel(channel: string): Connection[] {
    return [...(this.channels.get(channel)?.members.values() ?? [])];
  }

  /** Distinct users in a channel (one entry per user, however many tabs). */
  getUsersByChannel(channel: string): Array<{ id: string; name: string }> {
    return this.channels.get(channel)?.users() ?? [];
  }

  /** Totals and sizes only: cheap enough to call every second whatever the number of connections. */
  counts(): Status['counts'] {
    const totals = new Counters().add(this.closedTotals);
    for (const c of this.connections.values()) totals.add(c);
    return { connections: this.connections.size, channels: this.channels.size, ...totals.toJSON() };
  }

  status(): Status {
    const channels = [...this.channels.values()].map((ch) => ({ key: ch.key, members: ch.size, users: ch.users().length }));
    return {
      node: this.node,
      startedAt: this.startedAt,
      uptimeMs: Date.now() - this.startedAt,
      counts: this.counts(),
      channels,
      connections: [...this.connections.values()].map((c) => c.status(this.node)),
    };
  }

  /**
   * status() of every live node, merged: counts summed, channels merged by key, all connections
   * with their node; `missing` names the live nodes that did not answer in time.
   */
  async clusterStatus(): Promise<ClusterStatus> {
    const remote = await this.bus.remoteStatus(this.options.clusterStatusTimeoutMs);
    const all = [this.status(), ...remote.statuses];
    const channels = new Map<string, ChannelStatus>();
    const counts = { ...all[0]!.counts };
    for (const s of all.slice(1)) for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] += s.counts[k];
    for (const s of all) {
      for (const c of s.channels) {
        const m = channels.get(c.key);
        // Users may overlap between nodes; members do not.
        channels.set(c.key, m ? { key: c.key, members: m.members + c.members, users: Math.max(m.users, c.users) } : { ...c });
      }
    }
    counts.channels = channels.size;
    return {
      ...all[0]!,
      nodes: all.map((s) => s.node),
      missing: remote.missing,
      counts,
      channels: [...channels.values()],
      connections: all.flatMap((s) => s.connections),
    };
  }

  /** Graceful shutdown: refuse new upgrades, close everyone with 1001, wait at most shutdownTimeoutMs. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    const all = [...this.connections.values()];
    for (const c of all) c.close(CloseCode.goingAway, 'server shutting down', this.options.shutdownTimeoutMs);
    await Promise.all(all.map((c) => c.closed));
    this.wss.close();
    await this.bus.close();
  }

  private onFrame(conn: Connection, data: Buffer, isBinary: boolean): void {
    conn.lastActivity = Date.now();
    conn.messagesIn++;
    conn.bytesIn += data.length;
    if (!conn.bucket.take()) {
      if (conn.bucket.abusive) return conn.close(CloseCode.policy, 'rate limit exceeded');
      // Not handled, but a request still gets its one answer: its channel and ref are read back.
      const refused = isBinary || conn.codec ? undefined : safeParse(data.toString(), conn.channel, this.options.maxChannelNameLength);
      const limited = new SocketError(ErrorCode.rateLimited, 'too many frames: this one was not handled');
      return Inbox.push(conn, () => this.fail(conn, refused?.channel ?? conn.channel, limited, refused?.ref));
    }
    if (conn.pendingAuth && !conn.pendingAuth.verifying) return void this.authenticate(conn, isBinary ? undefined : safeParse(data.toString(), conn.channel, this.options.maxChannelNameLength));
    // Everything, refusals included, goes through the inbox so answers keep the frames' order.
    if (isBinary) {
      const { handler } = conn;
      const work = handler.onBinary
        ? () => handler.onBinary!(this, conn, data, conn.log)
        : () => {
            throw new SocketError(ErrorCode.binaryUnsupported, 'binary frames are not accepted on this route');
          };
      if (this.tap.active) this.tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: conn.channel, cmd: '(binary)', size: data.length }, '');
      return Inbox.push(conn, () => this.guard(conn, conn.channel, undefined, work));
    }
    const text = data.toString();
    let frame: Message;
    try {
      frame = conn.codec ? conn.codec.decode(text, conn.channel) : parseFrame(text, conn.channel, this.options.maxChannelNameLength);
    } catch (err) {
      if (this.tap.active) this.tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: conn.channel, cmd: '(invalid)', size: data.length }, text);
      return Inbox.push(conn, () => this.fail(conn, conn.channel, err, (err as FrameError).ref));
    }
    if (this.tap.active) this.tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: frame.channel, cmd: frame.cmd, size: data.length }, text);
    Inbox.push(conn, () => this.guard(conn, frame.channel, frame.ref, () => this.dispatch(conn, frame)));
  }

  /** Built-in cmds first; everything else goes to the route's handler, for members of the frame's channel. */
  private dispatch(conn: Connection, frame: Message): unknown {
    switch (frame.cmd) {
      case 'join':
        return this.clientJoin(conn, frame);
      case 'leave':
        return this.leave(conn.id, frame.channel).then((removed) => ({ removed }));
      case 'refresh':
        return this.refresh(conn, frame.param);
      case 'presence':
        if (!conn.channels.includes(frame.channel)) throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}"`);
        return this.presence(frame.channel).then((users) => ({ users }));
    }
    if (!conn.channels.includes(frame.channel)) {
      throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}": join it first`);
    }
    if (conn.routeOptions.authorize) return this.authorized(conn, frame.channel, 'publish').then(() => this.handle(conn, frame));
    return this.handle(conn, frame);
  }

  /** The built-in join: authorized, and resuming from `param.since` when given. */
  private async clientJoin(conn: Connection, frame: Message): Promise<{ created: boolean; recovered?: boolean }> {
    const { namespace, authorize } = conn.routeOptions;
    const owner = this.routes.namespaceOf(frame.channel);
    if (owner !== namespace) {
      throw new SocketError(ErrorCode.forbidden, owner ? `channel "${frame.channel}" belongs to another route` : `this route's clients may join only "${namespace}:" channels`);
    }
    if (!authorize) throw new SocketError(ErrorCode.forbidden, 'this route lets clients join no channel (it has no authorize hook)');
    await this.authorized(conn, frame.channel, 'join');
    const since = parseSince(frame.param);
    if (since && !conn.codec) return this.resume(conn, frame.channel, since);
    return { created: await this.join(conn.id, frame.channel) };
  }

  /** A new token for the same user extends the connection's life. */
  private async refresh(conn: Connection, param: unknown): Promise<{ expiresAt: number | null }> {
    const identity = await this.gate.verify((param as { token?: unknown } | null)?.token, conn.routeOptions);
    if (identity.profile.id !== conn.profile.id) throw new SocketError(ErrorCode.unauthorized, 'the new token is for another user');
    this.watchCredential(conn, identity.expiresAt);
    return { expiresAt: identity.expiresAt ?? null };
  }

  private async authorized(conn: Connection, channel: string, action: ChannelAction): Promise<void> {
    if (!(await conn.routeOptions.authorize!(conn, channel, action))) {
      throw new SocketError(ErrorCode.forbidden, `not allowed to ${action} channel "${channel}"`);
    }
  }

  private handle(conn: Connection, frame: Message): unknown {
    const { observer } = this.options;
    // Without an observer: no closure, no clock reads.
    if (observer) return timed(observer, frame.cmd, () => conn.handler.on(this, conn, frame.cmd, frame.param, conn.log, frame));
    return conn.handler.on(this, conn, frame.cmd, frame.param, conn.log, frame);
  }

  /**
   * Runs one unit of a connection's work and answers it: a reply when `ref` is set, an error
   * frame on failure. Returns a promise only when the work is async, so sync handlers stay sync.
   */
  private guard(conn: Connection, channel: string, ref: Ref | undefined, work: () => unknown): unknown {
    let result: unknown;
    try {
      result = work();
    } catch (err) {
      return this.fail(conn, channel, err, ref);
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.reply(conn, channel, ref, value),
        (err) => this.fail(conn, channel, err, ref),
      );
    }
    this.reply(conn, channel, ref, result);
  }

  private reply(conn: Connection, channel: string, ref: Ref | undefined, value: unknown): void {
    if (ref === undefined) return;
    this.sendDirect(conn, { channel, cmd: 'reply', param: value ?? null, ref });
  }

  /** Answers one connection without the bus: replies and errors go back where the frame came from. */
  private sendDirect(conn: Connection, msg: Message): void {
    const data = encode(msg);
    if (this.tap.active) this.tapOut({ type: 'conn', connId: conn.id }, msg, data);
    if (conn.codec === undefined) conn.send(data, Buffer.byteLength(data));
    else new Translations(data, msg).send(conn, conn.codec);
  }

  private fail(conn: Connection, channel: string, err: unknown, ref?: Ref): void {
    conn.errors++;
    let code: string = ErrorCode.internal;
    let message = 'internal error';
    if (err instanceof SocketError) ({ code, message } = err);
    else conn.log.error({ err }, 'handler failed');
    this.options.observer?.error(code);
    this.sendDirect(conn, errorFrame(channel, code, message, ref));
  }

  private async onClosed(conn: Connection, info: CloseInfo): Promise<void> {
    conn.closing = true;
    conn.inbox?.clear();
    this.connections.delete(conn.id);
    this.gate.closed(conn);
    // Its counters move to the totals as it leaves the map, so status() never loses them meanwhile.
    this.closedTotals.add(conn);
    this.removeUser(conn);
    try {
      if (conn.admitted) await conn.handler.onClose?.(this, conn, conn.log);
    } catch (err) {
      conn.log.error({ err }, 'onClose failed');
    }
    for (const channel of conn.channels) await this.leaveConnection(conn, channel);
    this.options.observer?.closed(info.code);
    this.log.debug({ conn: conn.id, ...info }, 'disconnected');
    conn.markClosed(info);
  }

  /** One ping round: terminate whoever sent nothing since the previous one (not even its pong). */
  private sweep(): void {
    for (const conn of this.connections.values()) {
      const read = conn.socket.bytesRead;
      if (read === conn.bytesReadAtPing) {
        conn.log.debug('missed pong: terminating');
        conn.closing = true;
        conn.serverClose = { code: 1006, reason: 'missed pong' };
        conn.ws.terminate();
        continue;
      }
      conn.bytesReadAtPing = read;
      conn.ws.ping();
    }
  }

  private requireConnection(connId: string): Connection {
    const conn = this.connections.get(connId);
    if (!conn) throw new SocketError(ErrorCode.unknownConnection, `no connection ${connId} on this node`);
    return conn;
  }

  private checkChannelName(channel: string, error: (msg: string) => Error): void {
    if (typeof channel !== 'string' || channel.length === 0 || channel.length > this.options.maxChannelNameLength) {
      throw error(`channel must be 1-${this.options.maxChannelNameLength} characters`);
    }
  }
}

const noneExcepted: readonly string[] = [];

/** A guest's profile is keyed by its connection: one tab, and no other connection can share it. */
function isGuest(conn: Connection): boolean {
  return conn.profile.id === conn.id;
}

/** The WebSocket's own Connection, for the shared listeners. */
const connOf = Symbol('wsforge.connection');
type Wired = WebSocket & { [connOf]: Connection };

/**
 * Where a reconnecting client left off in its route channel: the Socket adds
 * `wsf_since=<epoch>:<offset>:<channel>` to the URL (the route channel is joined during the
 * upgrade, before any join frame could carry a position).
 */
function resumePosition(req: IncomingMessage, channel: string): Position | undefined {
  for (const raw of new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('wsf_since')) {
    const m = raw.match(/^(\w{1,32}):([\d-]{1,40}):(.*)$/s);
    if (m && m[3] === channel) return { epoch: m[1]!, offset: m[2]! };
  }
  return undefined;
}

/** A frame, or undefined when the text is not one (the caller answers that its own way). */
function safeParse(text: string, channel: string, maxChannelLength: number): Message | undefined {
  try {
    return parseFrame(text, channel, maxChannelLength);
  } catch {
    return undefined;
  }
}

/** Whether a live channel frame was already replayed to `conn` by a resume; the first one that was not ends the check. */
function alreadyReplayed(conn: Connection, channel: string, data: string): boolean {
  const to = conn.replayedTo!.get(channel);
  if (!to) return false;
  const p = positionOf(data);
  if (p && p.epoch === to.epoch && p.offset <= to.offset) return true;
  conn.replayedTo!.delete(channel);
  if (conn.replayedTo!.size === 0) conn.replayedTo = undefined;
  return false;
}

/** The `since` of a join frame's param, if it is a well-formed position. */
function parseSince(param: unknown): Position | undefined {
  const since = (param as { since?: Partial<Position> } | null)?.since;
  const ok = typeof since?.epoch === 'string' && /^\w{1,32}$/.test(since.epoch) && typeof since.offset === 'string' && /^[\d-]{1,40}$/.test(since.offset);
  return ok ? (since as Position) : undefined;
}

/** The close code ws sends with a receiver error (RFC 6455 §7.4.1), from its error code. */
function protocolCloseCode(err: Error): number {
  switch ((err as { code?: string }).code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return CloseCode.tooBig;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    default:
      return 1002;
  }
}

/** One frame translated for codec clients: once per codec per delivery, however many recipients share it. */
class Translations {
  private readonly byCodec = new Map<Codec, { text: string; bytes: number } | undefined>();

  constructor(
    private readonly data: string,
    private msg?: Message,
  ) {}

  send(conn: Connection, codec: Codec): void {
    let out = this.byCodec.get(codec);
    if (!this.byCodec.has(codec)) {
      const text = codec.encode((this.msg ??= JSON.parse(this.data) as Message));
      out = text === undefined ? undefined : { text, bytes: Buffer.byteLength(text) };
      this.byCodec.set(codec, out);
    }
    if (out) conn.send(out.text, out.bytes);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
