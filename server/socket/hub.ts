import { Announcer } from './announcer';
import type { Logger } from 'pino';
import type { Bus, Delivery, DisconnectTarget, Target } from './bus';
import { Channel } from './channel';
import { Translations } from './codec';
import type { Connection } from './connection';
import { CloseCode, ErrorCode, SocketError } from './errors';
import { textFrame } from './frame';
import type { SocketLimits } from './limits';
import { encode, type Message } from './message';
import type { Profile } from './profile';
import { Counters, type Status } from './status';
import { Tap } from './tap';

export interface HubOptions extends Pick<SocketLimits, 'maxChannelsPerConnection' | 'maxChannelNameLength' | 'presenceIntervalMs' | 'presenceListMax'> {
  node: string;
  bus: Bus;
  log: Logger;
}

/**
 * This node's connections, channels and users: membership, presence announcements, and the
 * way out (publish through the bus, and deliver what the bus hands back to local recipients).
 * It is the bus's `Delivery`. What a frame from a client does is inbound.ts's, the lifecycle
 * service.ts's.
 */
export class Hub implements Delivery {
  readonly node: string;
  /** Live traffic for the admin tap; idle (and free) until someone subscribes. */
  readonly tap = new Tap();
  readonly bus: Bus;
  private readonly connections = new Map<string, Connection>();
  private readonly channels = new Map<string, Channel>();
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
  private readonly startedAt = Date.now();
  private readonly announcer: Announcer;

  constructor(private readonly options: HubOptions) {
    this.node = options.node;
    this.bus = options.bus;
    const { presenceIntervalMs: intervalMs, presenceListMax: listMax } = options;
    this.announcer = new Announcer(
      { intervalMs, listMax },
      // Presence is volatile (as in Centrifugo): kept out of history, so joins and leaves do not push
      // messages out of it; a resumed client asks for the built-in `presence` instead.
      (msg) => this.publish({ type: 'channel', channel: msg.channel }, msg, noneExcepted, true),
      (channel) => this.bus.presence.count(channel),
      (err) => options.log.warn({ err }, 'presence announcement failed'),
    );
  }

  /** The existing channel's own key, so its members share one string. */
  channelKey(channel: string): string {
    return this.channels.get(channel)?.key ?? channel;
  }

  add(conn: Connection): void {
    this.connections.set(conn.id, conn);
  }

  /** Still the live connection under its id (not closed, not replaced). */
  has(conn: Connection): boolean {
    return this.connections.get(conn.id) === conn;
  }

  /** Takes a closed connection out; its counters move to the totals as it leaves the map. */
  remove(conn: Connection): void {
    this.connections.delete(conn.id);
    this.closedTotals.add(conn);
    this.removeUser(conn);
  }

  /** Indexes the connection under its user and subscribes its topics (user on the first tab). */
  addUser(conn: Connection): Promise<unknown> {
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

  get(connId: string): Connection | undefined {
    return this.connections.get(connId);
  }

  require(connId: string): Connection {
    const conn = this.connections.get(connId);
    if (!conn) throw new SocketError(ErrorCode.unknownConnection, `no connection ${connId} on this node`);
    return conn;
  }

  all(): Connection[] {
    return [...this.connections.values()];
  }

  members(channel: string): Connection[] {
    return [...(this.channels.get(channel)?.members.values() ?? [])];
  }

  /** Distinct users in a channel on this node (one entry per user, however many tabs). */
  usersIn(channel: string): Profile[] {
    return this.channels.get(channel)?.users() ?? [];
  }

  /** Adds the connection to a channel; resolves true when the channel was created by this join. */
  async join(conn: Connection, channel: string): Promise<boolean> {
    if (conn.channels.includes(channel)) return false;
    const created = await this.enter(conn, channel);
    await this.arrive(conn, channel);
    return created;
  }

  /** Local membership, once this node receives the channel's frames; true when the channel was created. */
  async enter(conn: Connection, channel: string): Promise<boolean> {
    // A connection that closed while this join was on its way stays out.
    if (!this.has(conn)) throw new SocketError(ErrorCode.unknownConnection, `connection ${conn.id} has closed`);
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
    conn.joined(ch.key, ch.alone);
    ch.members.add(conn);
    this.arriving.add(`${conn.id}\t${channel}`);
    await ch.ready;
    return created;
  }

  /** Cluster presence, and a presence-diff join on the user's first join anywhere. */
  async arrive(conn: Connection, channel: string): Promise<void> {
    // Gone when the connection left (or closed) meanwhile: then there is nothing to count.
    if (!this.arriving.delete(`${conn.id}\t${channel}`)) return;
    if ((await this.bus.presence.join(channel, conn.profile)) && conn.routeOptions.presenceUpdates !== false) this.announcer.joined(channel, conn.profile);
  }

  /** Removes the connection from a channel; resolves true when that removed the channel (last member). */
  async leave(conn: Connection, channel: string): Promise<boolean> {
    const ch = this.channels.get(channel);
    if (!ch || !ch.members.delete(conn)) return false;
    conn.left(channel);
    const counted = !this.arriving.delete(`${conn.id}\t${channel}`);
    const removed = ch.size === 0;
    if (removed) {
      this.channels.delete(channel);
      await this.bus.unsubscribe({ type: 'channel', channel });
    }
    if (counted && (await this.bus.presence.leave(channel, conn.profile)) && conn.routeOptions.presenceUpdates !== false) this.announcer.left(channel, conn.profile);
    return removed;
  }

  /** Bus callback: a user vanished with a dead node; tell the channel as if they had left. */
  userGone(channel: string, user: Profile): void {
    this.announcer.left(channel, user);
  }

  /** The service is closing: no announcement is sent any more. */
  close(): void {
    this.announcer.close();
  }

  /** Serializes once, whatever the number of recipients or nodes. */
  publish(target: Target, msg: Message, except: readonly string[] = noneExcepted, volatile = false): void {
    const data = encode(msg);
    if (this.tap.active) this.tapOut(target, msg, data);
    this.bus.publish(target, data, except, volatile);
  }

  /** Answers one connection without the bus: replies and errors go back where the frame came from. */
  sendDirect(conn: Connection, msg: Message): void {
    const data = encode(msg);
    if (this.tap.active) this.tapOut({ type: 'conn', connId: conn.id }, msg, data);
    if (conn.codec === undefined) conn.send(data, Buffer.byteLength(data));
    else new Translations(data, msg).send(conn, conn.codec);
  }

  private tapOut(target: Target, msg: Message, data: string): void {
    const to = target.type === 'conn' ? 'conn' : target.type === 'user' ? `user:${target.userId}` : target.type;
    const conn = target.type === 'conn' ? target.connId : undefined;
    this.tap.emit({ dir: 'out', conn, target: to, channel: msg.channel, cmd: msg.cmd, size: Buffer.byteLength(data) }, data);
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
      if (c.replay !== undefined && target.type === 'channel' && c.intercepts(target.channel, data)) continue;
      if (c.codec === undefined) c.sendFrame((frame ??= textFrame(data, bytes)), bytes);
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

  checkChannelName(channel: string, error: (msg: string) => Error): void {
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
