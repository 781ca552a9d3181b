import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import {
  type AnyProtocol,
  type CloseInfo,
  type ClusterStatus,
  connectionStatus,
  ErrorCode,
  type Handler,
  HttpError,
  type Identity,
  type Message,
  type Profile,
  type Protocol,
  type RouteOptions,
  type RouteResolver,
  type ServerFrame,
  SocketError,
  socketDefaults,
  type SocketLimits,
  type Sockets,
  type Status,
  Tap,
} from '../socket';
import { TestSession, type ConnectOptions, type KitInternals } from './test-session';


/** Who a write went to, as `Sockets` names it. */
export type Target = { type: 'channel'; channel: string } | { type: 'all' } | { type: 'user'; userId: string } | { type: 'conn'; connId: string };

/** One frame the server sent (a write, a `presence-diff`, a `close-connection`), with who got it. */
export interface Sent<P extends Protocol<any, any, any> = AnyProtocol> {
  target: Target;
  /** As the recipients parse it (JSON round trip). */
  msg: ServerFrame<P>;
  /** Connection ids left out (`writeChannel(msg, ...except)`, `writeAll`). */
  except: string[];
  /** The ids of the sessions it was delivered to, in delivery order. */
  to: string[];
  /** Set for `writeChannelVolatile`: the frame would get no history position. */
  volatile?: true;
}

export interface HandlerTestOptions extends Pick<RouteOptions, 'authorize' | 'namespace' | 'presenceUpdates'> {
  /** The sessions' `route` (path). Default `/test/socket`. */
  path?: string;
  /** `Sockets.limits`; channel name length and channels per connection are enforced. Default: the service's defaults. */
  limits?: Partial<SocketLimits>;
  /** `Sockets.node`. Default `test`. */
  node?: string;
  /** Where the sessions' `log` lines go. Default: a silent pino logger. */
  logger?: Logger;
}


interface RouteEntry {
  resolver: RouteResolver;
  options: RouteOptions;
}

/** A one-node `Sockets` in memory, with sessions that a test drives. See the module comment. */
export class HandlerTest<P extends Protocol<any, any, any> = AnyProtocol> implements Sockets {
  readonly node: string;
  readonly limits: Readonly<SocketLimits>;
  /** Every frame the server sent, in order (answers to pushes are not here: the pushes return them). */
  readonly sent: Sent<P>[] = [];
  readonly tap = new Tap();
  private readonly sessions = new Map<string, TestSession<P>>();
  private readonly channelMembers = new Map<string, Set<TestSession<P>>>();
  /** Channel → user id → tabs; the Map keeps the first arrival's order, as LocalPresence does. */
  private readonly present = new Map<string, Map<string, { profile: Profile; tabs: number }>>();
  private readonly routes = new Map<string, RouteEntry>();
  private readonly closedTotals = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, errors: 0 };
  private readonly startedAt = Date.now();
  private readonly logger: Logger;
  /** Work still running: pushes, opens, closes (`idle()` waits for it). */
  private readonly pending = new Set<Promise<unknown>>();
  /** Channel → joins and leaves not announced yet (`idle()` announces them). */
  private readonly unannounced = new Map<string, { joins: Map<string, Profile>; leaves: Map<string, Profile> }>();

  constructor(
    /** The handler of sessions connected without `url`. */
    private readonly handler?: Handler,
    private readonly options: HandlerTestOptions = {},
  ) {
    this.node = options.node ?? 'test';
    this.limits = { ...socketDefaults, ...options.limits };
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /** A session in its route channel, after onOpen ran. */
  async connect(o: ConnectOptions = {}): Promise<TestSession<P>> {
    const id = randomUUID();
    const resolved = o.url === undefined ? this.direct(o) : await this.resolve(o);
    const channel = resolved.channel;
    const max = this.limits.maxChannelNameLength;
    if (channel.length === 0 || channel.length > max) throw new HttpError(400, `channel must be 1-${max} characters`);
    const profile = resolved.profile ?? { id, name: `guest-${id.slice(0, 8)}` };
    const log = this.logger.child({ conn: id, user: profile.id });
    const session = new TestSession<P>(this.internals, { ...o, id, profile, channel, path: resolved.path, handler: resolved.handler, route: resolved.options, log });
    this.sessions.set(id, session);
    await this.track(session.open(o.channels ?? []));
    return session;
  }

  /**
   * Waits until no push, open or close is running and the event loop has turned (timers aside),
   * then announces the joins and leaves since the last time: one `presence-diff` per channel, as
   * the server would have by then. Nothing is announced before (the kit has no presence timer).
   */
  async idle(): Promise<void> {
    do {
      await Promise.allSettled([...this.pending]);
      await new Promise<void>((resolve) => setImmediate(resolve));
    } while (this.pending.size > 0);
    this.announcePending();
  }

  /** The frames written to a channel (channel writes and `presence-diff`), in order. */
  channelFrames(channel: string): Array<ServerFrame<P>> {
    return this.sent.filter((s) => s.target.type === 'channel' && s.target.channel === channel).map((s) => s.msg);
  }

  // --- Sockets ---

  /** Registers a route that `connect({ url })` resolves, as an upgrade to that path would be. */
  route(path: string, resolver: RouteResolver, options: RouteOptions = {}): void {
    if (this.routes.has(path)) throw new Error(`socket route ${path} is already registered`);
    this.routes.set(path, { resolver, options });
  }

  async join(connId: string, channel: string): Promise<boolean> {
    const s = this.sessions.get(connId);
    if (!s || s.closing) throw new SocketError(ErrorCode.unknownConnection, `no connection ${connId} on this node`);
    if (s.channels.includes(channel)) return false;
    const max = this.limits.maxChannelNameLength;
    if (typeof channel !== 'string' || channel.length === 0 || channel.length > max) throw new SocketError(ErrorCode.invalidFrame, `channel must be 1-${max} characters`);
    if (s.channels.length >= this.limits.maxChannelsPerConnection) {
      throw new SocketError(ErrorCode.limitExceeded, `a connection may be in at most ${this.limits.maxChannelsPerConnection} channels`);
    }
    let members = this.channelMembers.get(channel);
    const created = !members;
    if (!members) this.channelMembers.set(channel, (members = new Set()));
    members.add(s);
    s.channels = [...s.channels, channel];
    let users = this.present.get(channel);
    if (!users) this.present.set(channel, (users = new Map()));
    const here = users.get(s.profile.id);
    if (here) here.tabs++;
    else {
      users.set(s.profile.id, { profile: s.profile, tabs: 1 });
      this.announce(s, channel, true);
    }
    return created;
  }

  async leave(connId: string, channel: string): Promise<boolean> {
    const s = this.sessions.get(connId) ?? this.closingSession(connId);
    const members = this.channelMembers.get(channel);
    if (!s || !members?.delete(s)) return false;
    s.channels = s.channels.filter((c) => c !== channel);
    const removed = members.size === 0;
    if (removed) this.channelMembers.delete(channel);
    const users = this.present.get(channel);
    const here = users?.get(s.profile.id);
    if (here && --here.tabs === 0) {
      users!.delete(s.profile.id);
      if (users!.size === 0) this.present.delete(channel);
      this.announce(s, channel, false);
    }
    return removed;
  }

  writeConnection(connId: string, msg: Message): void {
    this.publish({ type: 'conn', connId }, msg, []);
  }

  writeChannel(msg: Message, ...exceptConnIds: string[]): void {
    this.publish({ type: 'channel', channel: msg.channel }, msg, exceptConnIds);
  }

  writeChannelVolatile(msg: Message, ...exceptConnIds: string[]): void {
    this.publish({ type: 'channel', channel: msg.channel }, msg, exceptConnIds, true);
  }

  writeAll(msg: Message, ...exceptConnIds: string[]): void {
    this.publish({ type: 'all' }, msg, exceptConnIds);
  }

  writeUser(userId: string, msg: Message): void {
    this.publish({ type: 'user', userId }, msg, []);
  }

  disconnect(connId: string, code = 4000, reason = 'disconnected by server'): void {
    const s = this.sessions.get(connId);
    if (s) this.kick([s], code, reason);
  }

  disconnectUser(userId: string, code = 4000, reason = 'disconnected by server'): void {
    this.kick(
      [...this.sessions.values()].filter((s) => s.profile.id === userId),
      code,
      reason,
    );
  }

  async presence(channel: string): Promise<Profile[]> {
    return [...(this.present.get(channel)?.values() ?? [])].map(({ profile: { id, name } }) => ({ id, name }));
  }

  readLoop(connId: string): Promise<CloseInfo> {
    const s = this.sessions.get(connId) ?? this.closingSession(connId);
    return s ? s.closed : Promise.reject(new Error(`unknown connection ${connId}`));
  }

  getConnection(connId: string): TestSession<P> | undefined {
    return this.sessions.get(connId);
  }

  getConnections(): TestSession<P>[] {
    return [...this.sessions.values()];
  }

  getConnectionsByChannel(channel: string): TestSession<P>[] {
    return [...(this.channelMembers.get(channel) ?? [])];
  }

  getUsersByChannel(channel: string): Profile[] {
    const users = new Map<string, Profile>();
    for (const s of this.channelMembers.get(channel) ?? []) if (!users.has(s.profile.id)) users.set(s.profile.id, s.profile);
    return [...users.values()];
  }

  counts(): Status['counts'] {
    const totals = { ...this.closedTotals };
    for (const s of this.sessions.values()) for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += s[k];
    return { connections: this.sessions.size, channels: this.channelMembers.size, ...totals };
  }

  status(): Status {
    return {
      node: this.node,
      startedAt: this.startedAt,
      uptimeMs: Date.now() - this.startedAt,
      counts: this.counts(),
      channels: [...this.channelMembers.keys()].map((key) => ({ key, members: this.channelMembers.get(key)!.size, users: this.getUsersByChannel(key).length })),
      connections: [...this.sessions.values()].map((s) => connectionStatus(s, this.node)),
    };
  }

  async clusterStatus(): Promise<ClusterStatus> {
    return { ...this.status(), nodes: [this.node], missing: [] };
  }

  clientAddress(req: IncomingMessage): string {
    return req.socket?.remoteAddress ?? '';
  }

  /** The kit has no upgrades, caps or origins: nothing it would refuse. */
  upgradeRefusal(_req: IncomingMessage): HttpError | undefined {
    return undefined;
  }

  /** Closes every session with 1001, as a shutdown does; what is not announced yet never is. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close(1001, 'server shutting down')));
    this.unannounced.clear();
  }

  // --- inside the kit ---

  /** What the kit's sessions call back into. */
  private readonly internals: KitInternals<P> = {
    sockets: this,
    track: (work) => this.track(work),
    namespaceOf: (channel) => {
      const colon = channel.indexOf(':');
      const ns = colon > 0 ? channel.slice(0, colon) : undefined;
      const known = ns !== undefined && (ns === this.options.namespace || [...this.routes.values()].some((r) => r.options.namespace === ns));
      return known ? ns : undefined;
    },
    closed: (s) => {
      this.sessions.delete(s.id);
      this.closing.set(s.id, s);
      for (const k of Object.keys(this.closedTotals) as Array<keyof typeof this.closedTotals>) this.closedTotals[k] += s[k];
    },
    gone: (s) => this.closing.delete(s.id),
    maxChannelNameLength: () => this.limits.maxChannelNameLength,
    tap: this.tap,
  };

  /** Sessions between close and the end of their cleanup (still leaving their channels). */
  private readonly closing = new Map<string, TestSession<P>>();

  private closingSession(connId: string): TestSession<P> | undefined {
    return this.closing.get(connId);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const p = work.finally(() => this.pending.delete(p));
    this.pending.add(p);
    return work;
  }

  private direct(o: ConnectOptions): { channel: string; profile?: Profile; handler: Handler; options: RouteOptions; path: string } {
    if (!this.handler) throw new Error('this HandlerTest has no handler: pass one to the constructor, or connect with { url } to a route');
    const { authorize, namespace, presenceUpdates } = this.options;
    return { channel: o.channel ?? 'test', profile: o.profile, handler: this.handler, options: { authorize, namespace, presenceUpdates }, path: this.options.path ?? '/test/socket' };
  }

  /** Route mode: what the route's resolver makes of a request to `o.url`. */
  private async resolve(o: ConnectOptions): Promise<{ channel: string; profile?: Profile; handler: Handler; options: RouteOptions; path: string }> {
    const url = new URL(o.url!, 'http://localhost');
    const route = this.routes.get(url.pathname);
    if (!route) throw new HttpError(404, `no socket route at ${url.pathname}`);
    const req = { method: 'GET', url: url.pathname + url.search, headers: { host: 'localhost', ...o.headers }, socket: { remoteAddress: o.remoteAddress ?? '127.0.0.1' } } as unknown as IncomingMessage;
    let identity: Identity | undefined = o.profile ? { profile: o.profile, expiresAt: o.expiresAt } : undefined;
    if (!identity && route.options.identify) identity = await route.options.identify(req, url);
    if (!identity && !route.options.anonymous) throw new HttpError(401, 'authentication required: send a token as ?token=, Authorization: Bearer, or a bearer.<token> subprotocol');
    const up = await route.resolver(req, url, identity);
    return { channel: up.channel, profile: up.profile ?? identity?.profile, handler: up.handler, options: route.options, path: url.pathname };
  }

  /** Serializes once and hands the frame to every recipient, like the hub's publish and deliver. */
  private publish(target: Target, msg: Message, except: readonly string[], volatile = false): void {
    const data = JSON.stringify(msg);
    let recipients: Iterable<TestSession<P>>;
    switch (target.type) {
      case 'channel':
        recipients = this.channelMembers.get(target.channel) ?? [];
        break;
      case 'all':
        recipients = this.sessions.values();
        break;
      case 'user':
        recipients = [...this.sessions.values()].filter((s) => s.profile.id === target.userId);
        break;
      case 'conn':
        recipients = [this.sessions.get(target.connId)].filter((s) => s !== undefined);
        break;
    }
    const to: string[] = [];
    for (const s of [...recipients]) {
      // A closing session's socket is gone: what is written to it meanwhile reaches nobody.
      if (s.closing || except.includes(s.id)) continue;
      s.deliver(data);
      to.push(s.id);
    }
    this.sent.push({ target, msg: JSON.parse(data) as ServerFrame<P>, except: [...except], to, ...(volatile ? { volatile: true as const } : {}) });
    if (this.tap.active) {
      const name = target.type === 'conn' ? 'conn' : target.type === 'user' ? `user:${target.userId}` : target.type;
      this.tap.emit({ dir: 'out', conn: target.type === 'conn' ? target.connId : undefined, target: name, channel: msg.channel, cmd: msg.cmd, size: Buffer.byteLength(data) }, data);
    }
  }

  /**
   * A user's first arrival in a channel or last departure, kept for the next `presence-diff`
   * (server/socket/announcer.ts): a leave and a join of one user before it cancel out.
   */
  private announce(s: TestSession<P>, channel: string, connected: boolean): void {
    if (s.routeOptions.presenceUpdates === false) return;
    let p = this.unannounced.get(channel);
    if (!p) this.unannounced.set(channel, (p = { joins: new Map(), leaves: new Map() }));
    const [add, cancel] = connected ? [p.joins, p.leaves] : [p.leaves, p.joins];
    if (!cancel.delete(s.profile.id)) add.set(s.profile.id, s.profile);
  }

  /**
   * One `presence-diff` per channel with changes, to every member (the joiners included): the
   * joins, the leaves and the user count now; above `limits.presenceListMax` users the count only.
   */
  private announcePending(): void {
    const due = [...this.unannounced];
    this.unannounced.clear();
    for (const [channel, { joins, leaves }] of due) {
      if (joins.size === 0 && leaves.size === 0) continue;
      const count = this.present.get(channel)?.size ?? 0;
      const listed = count <= this.limits.presenceListMax;
      const users = (m: Map<string, Profile>) => (listed ? [...m.values()].map((u) => ({ userId: u.id, name: u.name })) : []);
      this.publish({ type: 'channel', channel }, { channel, cmd: 'presence-diff', param: { joins: users(joins), leaves: users(leaves), count } }, []);
    }
  }

  private kick(sessions: TestSession<P>[], code: number, reason: string): void {
    for (const s of sessions) {
      if (s.closing) continue;
      if (code === 4000) this.publish({ type: 'conn', connId: s.id }, { channel: s.channel, cmd: 'close-connection', param: { reason: reason.slice(0, 120) } }, []);
      void s.close(code, reason.slice(0, 120));
    }
  }
}

