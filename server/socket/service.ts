import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { WebSocketServer, type WebSocket } from 'ws';
import { wsforgeProtocol, type Authenticator, type Identity } from './auth';
import { LocalBus, type Bus } from './bus';
import { socketDefaults, type SocketLimits } from './limits';
import { peerAddress } from './client-address';
import { Connection, type RouteContext } from './connection';
import { CloseCode } from './errors';
import { WriteBatch } from './frame';
import { Gate } from './gate';
import { HttpError } from './http-error';
import { Hub } from './hub';
import { Inbound } from './inbound';
import type { Message } from './message';
import type { Observer } from './observer';
import { OriginPolicy } from './origin';
import type { Profile } from './profile';
import { resumePosition } from './recovery';
import { refuseUpgrade, SocketRouter, type Route } from './router';
import type { CloseInfo } from './session';
import type { RouteOptions, RouteResolver, Sockets, UpgradeOptions } from './sockets';
import type { Tap } from './tap';
import { mergeStatuses, type ClusterStatus, type Status } from './status';

/** The service's options: its limits (limits.ts: each one's env var, default and meaning) and its parts. */
export interface ServiceOptions extends SocketLimits {
  /** The client's address of a request (client-address.ts): the TCP peer unless proxies are trusted (TRUST_PROXY). */
  clientAddress: (req: IncomingMessage) => string;
  /** Browser origins allowed to connect (403 otherwise). Default: same origin, plus localhost. */
  origins: OriginPolicy;
  /** Verifies tokens for routes without their own authenticator (JWT from config); none → only anonymous routes work. */
  authenticator?: Authenticator;
  /** This node's id in status and across a cluster. */
  nodeId: string;
  /** Default: the in-process LocalBus, with the history limits. */
  bus: Bus;
  logger: Logger;
  /** Metrics hooks; absent by default, and then nothing is measured. */
  observer?: Observer;
}

/**
 * A node's socket service: options, lifecycle (upgrade, ping sweep, close) and the `Sockets`
 * API that apps and handlers call. Connections, channels and delivery are the Hub's
 * (hub.ts), a frame's way in is Inbound's (inbound.ts), resume is recovery.ts's. Writes are
 * serialized once and go through the bus, so the same calls reach every node of a cluster.
 */
export class SocketService implements Sockets {
  readonly options: ServiceOptions;
  readonly node: string;
  readonly routes = new SocketRouter();
  private readonly hub: Hub;
  private readonly inbound: Inbound;
  private readonly wss: WebSocketServer;
  /** Each registered route's RouteContext, by path. */
  private readonly contexts = new Map<string, RouteContext>();
  private readonly pendingHandshakes = new WeakMap<Duplex, (err: Error) => void>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private accepting = true;
  private readonly gate: Gate;
  /** Every frame to every connection of this service goes out through it. */
  private readonly batch = new WriteBatch();

  constructor(options: Partial<ServiceOptions> = {}) {
    const history = { size: options.historySize ?? socketDefaults.historySize, ttlMs: options.historyTtlMs ?? socketDefaults.historyTtlMs };
    this.options = {
      ...socketDefaults,
      nodeId: options.nodeId ?? uuidv4().slice(0, 8),
      bus: options.bus ?? new LocalBus(history),
      origins: options.origins ?? new OriginPolicy([], true),
      clientAddress: options.clientAddress ?? peerAddress,
      logger: options.logger ?? pino({ level: 'warn' }),
      ...stripUndefined(options),
    } as ServiceOptions;
    const o = this.options;
    this.node = o.nodeId;
    this.log = o.logger.child({ node: this.node });
    this.gate = new Gate(o);
    this.hub = new Hub({ ...o, node: this.node, log: this.log });
    this.inbound = new Inbound(this, this.hub, this.gate, this.routes, o);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // A token offered as a `bearer.<token>` subprotocol needs a protocol to be selected, or browsers fail the handshake.
      handleProtocols: (offered) => (offered.has(wsforgeProtocol) ? wsforgeProtocol : false),
    });
    // With a listener, ws leaves refusing a bad handshake to us, so the waiting upgrade can settle.
    this.wss.on('wsClientError', (err, socket) => this.pendingHandshakes.get(socket)?.(new HttpError(400, err.message)));
    void o.bus.start(this.hub);
    this.heartbeat = setInterval(() => this.sweep(), o.pingIntervalMs).unref();
  }

  get limits(): Readonly<SocketLimits> {
    return this.options;
  }

  /** Live traffic for the admin tap; idle (and free) until someone subscribes. */
  get tap(): Tap {
    return this.hub.tap;
  }

  route(path: string, resolver: RouteResolver, options: RouteOptions = {}): void {
    this.routes.add(path, resolver, options);
    this.contexts.set(path, this.makeContext(path, options));
  }

  /** What the connections of one route share; registered routes make theirs once. */
  private makeContext(path: string, options: RouteOptions): RouteContext {
    const o = this.options;
    const rateLimit = options.rateLimit ? { ...o.rateLimit, ...options.rateLimit } : o.rateLimit;
    return { path, options, rateLimit, limits: o, writeDelayMs: options.writeDelayMs ?? o.writeDelayMs, batch: this.batch, log: this.log };
  }

  private contextOf(url: URL, options: RouteOptions): RouteContext {
    const known = this.contexts.get(url.pathname);
    return known?.options === options ? known : this.makeContext(url.pathname, options);
  }

  /**
   * The http server's 'upgrade' listener: routes by path, refuses unknown paths with 404.
   * attachSockets uses `owns` instead, to leave other paths to the app's other listeners.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.routeUpgrade(req, socket, head);
  };

  /** Whether an upgrade request is for one of this service's routes. */
  owns(req: IncomingMessage): boolean {
    return this.routes.match(requestUrl(req)) !== undefined;
  }

  /** Shared by every upgrading socket (no closure each): a client vanishing mid-upgrade is no crash. */
  private readonly onUpgradeError = (err: Error): void => this.log.debug({ err }, 'socket error during upgrade');

  private async routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', this.onUpgradeError);
    const found = this.routeOf(req);
    if (found instanceof HttpError) return refuseUpgrade(socket, found.status, found.message);
    const { url, route } = found;
    try {
      const identity = await this.gate.admit(req, url, route.options);
      const opts = await route.resolver(req, url, identity);
      await this.open(req, url, socket, head, { ...opts, profile: opts.profile ?? identity?.profile }, route.options, identity);
    } catch (err) {
      this.gate.release(socket);
      if (err instanceof HttpError) return refuseUpgrade(socket, err.status, err.message);
      this.log.error({ err, path: url.pathname }, 'socket route failed');
      refuseUpgrade(socket, 500, 'internal error');
    }
  }

  /**
   * Completes the WebSocket handshake and registers the connection in `channel`, for an embedder
   * that routes upgrades itself (it has done its own checks: no route options, no identity).
   * Rejects with HttpError (and answers the client) when the request cannot be upgraded.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, opts: UpgradeOptions, route: RouteOptions = {}, identity?: Identity): Promise<Connection> {
    return this.open(req, requestUrl(req), socket, head, opts, route, identity);
  }

  private async open(req: IncomingMessage, url: URL, socket: Duplex, head: Buffer, opts: UpgradeOptions, route: RouteOptions, identity?: Identity): Promise<Connection> {
    if (!this.accepting) throw new HttpError(503, 'server is shutting down');
    this.hub.checkChannelName(opts.channel, (msg) => new HttpError(400, msg));
    const ws = await this.handshake(req, socket, head);
    const conn = new Connection(ws, req, this.options.clientAddress(req), this.hub.channelKey(opts.channel), opts.profile, opts.handler, opts.codec, this.contextOf(url, route));
    this.hub.add(conn);
    this.gate.opened(conn, socket);
    this.listen(conn);
    // Without a credential yet (authInFirstMessage), the profile is known only once `auth` arrives.
    const authenticated = route.authInFirstMessage && !identity ? this.inbound.awaitAuth(conn) : Promise.resolve();
    if (identity) this.inbound.watchCredential(conn, identity.expiresAt);
    this.inbound.admit(conn, authenticated, conn.codec ? undefined : resumePosition(url, conn.channel));
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
      svc.inbound.frame((this as Wired)[connOf], data, isBinary);
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

  private async onClosed(conn: Connection, info: CloseInfo): Promise<void> {
    conn.closing = true;
    conn.inbox?.clear();
    this.hub.remove(conn);
    this.gate.closed(conn);
    try {
      if (conn.admitted) await conn.handler.onClose?.(this, conn, conn.log);
    } catch (err) {
      conn.log.error({ err }, 'onClose failed');
    }
    for (const channel of conn.channels) await this.hub.leave(conn, channel);
    this.options.observer?.closed(info.code);
    this.log.debug({ conn: conn.id, ...info }, 'disconnected');
    conn.markClosed(info);
  }

  /** One ping round: terminate whoever sent nothing since the previous one (not even its pong). */
  private sweep(): void {
    for (const conn of this.hub.all()) {
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

  readLoop(connId: string): Promise<CloseInfo> {
    const conn = this.hub.get(connId);
    return conn ? conn.closed : Promise.reject(new Error(`unknown connection ${connId}`));
  }

  async join(connId: string, channel: string): Promise<boolean> {
    return this.hub.join(this.hub.require(connId), channel);
  }

  async leave(connId: string, channel: string): Promise<boolean> {
    const conn = this.hub.get(connId);
    return conn ? this.hub.leave(conn, channel) : false;
  }

  presence(channel: string): Promise<Profile[]> {
    return this.options.bus.presence.users(channel);
  }

  writeConnection(connId: string, msg: Message): void {
    this.hub.publish({ type: 'conn', connId }, msg);
  }

  writeChannel(msg: Message, ...exceptConnIds: string[]): void {
    this.hub.publish({ type: 'channel', channel: msg.channel }, msg, exceptConnIds);
  }

  writeChannelVolatile(msg: Message, ...exceptConnIds: string[]): void {
    this.hub.publish({ type: 'channel', channel: msg.channel }, msg, exceptConnIds, true);
  }

  writeAll(msg: Message, ...exceptConnIds: string[]): void {
    this.hub.publish({ type: 'all' }, msg, exceptConnIds);
  }

  writeUser(userId: string, msg: Message): void {
    this.hub.publish({ type: 'user', userId }, msg);
  }

  disconnect(connId: string, code: number = CloseCode.kicked, reason = 'disconnected by server'): void {
    this.options.bus.disconnect({ type: 'conn', connId }, code, reason.slice(0, 120));
  }

  disconnectUser(userId: string, code: number = CloseCode.kicked, reason = 'disconnected by server'): void {
    this.options.bus.disconnect({ type: 'user', userId }, code, reason.slice(0, 120));
  }

  getConnection(connId: string): Connection | undefined {
    return this.hub.get(connId);
  }

  getConnections(): Connection[] {
    return this.hub.all();
  }

  getConnectionsByChannel(channel: string): Connection[] {
    return this.hub.members(channel);
  }

  getUsersByChannel(channel: string): Profile[] {
    return this.hub.usersIn(channel);
  }

  counts(): Status['counts'] {
    return this.hub.counts();
  }

  status(): Status {
    return this.hub.status();
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const remote = await this.options.bus.remoteStatus(this.options.clusterStatusTimeoutMs);
    return mergeStatuses([this.status(), ...remote.statuses], remote.missing);
  }

  clientAddress(req: IncomingMessage): string {
    return this.options.clientAddress(req);
  }

  upgradeRefusal(req: IncomingMessage): HttpError | undefined {
    const found = this.routeOf(req);
    return found instanceof HttpError ? found : this.gate.refusal(req, found.route.options);
  }

  /** The route an upgrade request is for, or why none takes it now; shutting down comes first, before any route's work. */
  private routeOf(req: IncomingMessage): HttpError | { url: URL; route: Route } {
    if (!this.accepting) return new HttpError(503, 'server is shutting down');
    const url = requestUrl(req);
    const route = this.routes.match(url);
    return route ? { url, route } : new HttpError(404, `no socket route at ${url.pathname}`);
  }

  /** Graceful shutdown: refuse new upgrades, close everyone with 1001, wait at most shutdownTimeoutMs. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    const all = this.hub.all();
    for (const c of all) c.close(CloseCode.goingAway, 'server shutting down', this.options.shutdownTimeoutMs);
    await Promise.all(all.map((c) => c.closed));
    this.wss.close();
    this.hub.close();
    await this.options.bus.close();
  }
}

function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://localhost');
}

/** The WebSocket's own Connection, for the shared listeners. */
const connOf = Symbol('wsforge.connection');
type Wired = WebSocket & { [connOf]: Connection };

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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
