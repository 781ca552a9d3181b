import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus, Delivery, DisconnectTarget, Target, Topic } from '../socket/bus';
import type { HistoryOptions } from '../socket/history';
import type { RemoteStatus, Status } from '../socket/status';
import { Continuity } from './continuity';
import type { Keys } from './keys';
import { RedisHistory } from './redis-history';
import { RedisPresence } from './redis-presence';
import type { ScriptedRedis } from './scripts';

export interface RedisBusOptions {
  node: string;
  keys: Keys;
  history: HistoryOptions;
  /** How often this node announces it is alive and looks for dead nodes. */
  heartbeatMs: number;
  /** A node silent for this long is dead: its presence is reaped, it leaves cluster status. */
  nodeTtlMs: number;
  logger: Logger;
}

/**
 * The cluster bus over Redis pub/sub. A node subscribes only to the topics it holds
 * recipients for (channels with local members, local users and connections) plus the
 * broadcast and control topics: no firehose. Every frame is published once, as
 * `<kind>\t<origin node>\t<except ids>\t<frame>`, and delivered by each subscribed node —
 * the publishing node included, so all nodes see channel frames in Redis's one order.
 */
export class RedisBus implements Bus {
  readonly history: RedisHistory;
  readonly presence: RedisPresence;
  private delivery?: Delivery;
  private readonly topics = new Map<string, Target>();
  private readonly pendingStatus = new Map<string, { statuses: Status[]; expected: number; done: () => void }>();
  private heartbeat?: NodeJS.Timeout;
  /** Redis lost this node's presence, not written back yet (a failed write is retried by the next beat). */
  private presenceLost = false;
  /** Channel frames pass through it, so a gap left by a lost subscriber connection is filled or reported. */
  private readonly continuity: Continuity;
  private readonly keys: Keys;
  private readonly log: Logger;

  constructor(
    private readonly pub: ScriptedRedis,
    private readonly sub: ScriptedRedis,
    private readonly options: RedisBusOptions,
  ) {
    this.keys = options.keys;
    this.log = options.logger.child({ bus: 'redis' });
    this.history = new RedisHistory(pub, this.keys, options.history.ttlMs);
    this.presence = new RedisPresence(pub, this.keys, options.node, options.nodeTtlMs);
    this.continuity = new Continuity(this.history, options.history.ttlMs, (channel, data, except) => this.delivery?.deliver({ type: 'channel', channel }, data, except), this.log);
  }

  async start(delivery: Delivery): Promise<void> {
    this.delivery = delivery;
    this.topics.set(this.keys.allTopic(), { type: 'all' });
    this.sub.on('message', (topic: string, message: string) => this.onMessage(topic, message));
    let connected = this.sub.status === 'ready';
    this.sub.on('ready', () => {
      if (!connected) return void (connected = true);
      // Back after a disconnect: ioredis resubscribes; once that is confirmed, what was published meanwhile is read from history.
      this.log.info('subscriber connection is back: filling channel gaps from history');
      this.continuity.reconnected(this.sub.subscribe(...this.topics.keys()));
    });
    await this.sub.subscribe(this.keys.allTopic(), this.keys.controlTopic(), this.keys.nodeTopic(this.options.node));
    await this.beat();
    this.heartbeat = setInterval(this.beatNow, this.options.heartbeatMs).unref();
    // Back after a disconnect: alive again at once, and presence written back if Redis lost it (beat).
    this.pub.on('ready', this.beatNow);
  }

  publish(target: Target, data: string, except: readonly string[], volatile = false): void {
    const head = `m\t${this.options.node}\t${except.join(',')}\t`;
    const { history } = this.options;
    const done = (err: unknown) => this.log.error({ err, target }, 'publish failed');
    if (target.type === 'channel' && !volatile && history.size > 0) {
      const k = this.keys;
      const topic = k.channelTopic(target.channel);
      this.pub
        .wsfPublish(k.historyMeta(target.channel), k.historyStream(target.channel), topic, head, data, history.size, history.ttlMs, freshEpoch(), Date.now())
        .catch(done);
    } else {
      this.pub.publish(this.topicOf(target), head + data).catch(done);
    }
  }

  disconnect(target: DisconnectTarget, code: number, reason: string): void {
    // A connection held here needs no round trip; a user's tabs may be anywhere, this node's
    // included (it is subscribed to the user's topic, so the message comes back here too).
    if (target.type === 'conn' && this.delivery?.disconnectLocal(target, code, reason)) return;
    const head = `d\t${this.options.node}\t\t`;
    this.pub.publish(this.topicOf(target), head + JSON.stringify({ code, reason })).catch((err) => this.log.error({ err }, 'disconnect publish failed'));
  }

  async subscribe(topic: Topic): Promise<void> {
    const name = this.topicOf(topic);
    this.topics.set(name, topic);
    await this.sub.subscribe(name);
  }

  async unsubscribe(topic: Topic): Promise<void> {
    const name = this.topicOf(topic);
    this.topics.delete(name);
    if (topic.type === 'channel') this.continuity.forget(topic.channel);
    await this.sub.unsubscribe(name);
  }

  /** Asks every live node for its status over the control topic; answers come to this node's topic. */
  async remoteStatus(timeoutMs: number): Promise<RemoteStatus> {
    const live = await this.pub.zrangebyscore(this.keys.nodes(), Date.now() - this.options.nodeTtlMs, '+inf');
    const others = live.filter((n) => n !== this.options.node);
    const expected = others.length;
    if (expected === 0) return { statuses: [], missing: [] };
    const reqId = freshEpoch();
    const statuses: Status[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pendingStatus.set(reqId, {
        statuses,
        expected,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.pub.publish(this.keys.controlTopic(), `s\t${this.options.node}\t\t${reqId}`).catch(resolve);
    });
    this.pendingStatus.delete(reqId);
    const answered = new Set(statuses.map((s) => s.node));
    return { statuses, missing: others.filter((n) => !answered.has(n)) };
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.pub.off('ready', this.beatNow);
    await this.pub.zrem(this.keys.nodes(), this.options.node).catch(() => undefined);
    this.delivery = undefined;
    this.sub.disconnect();
    await this.pub.quit().catch(() => undefined);
  }

  private onMessage(topic: string, message: string): void {
    const t1 = message.indexOf('\t');
    const t2 = message.indexOf('\t', t1 + 1);
    const t3 = message.indexOf('\t', t2 + 1);
    if (t1 < 0 || t2 < 0 || t3 < 0 || !this.delivery) return;
    const kind = message.slice(0, t1);
    const origin = message.slice(t1 + 1, t2);
    const body = message.slice(t3 + 1);
    const delivery = this.delivery;
    switch (kind) {
      case 'm': {
        const target = this.topics.get(topic);
        if (!target) return;
        const except = t3 > t2 + 1 ? message.slice(t2 + 1, t3).split(',') : noneExcepted;
        if (target.type === 'channel') this.continuity.received(target.channel, body, except);
        else delivery.deliver(target, body, except);
        return;
      }
      case 'd': {
        const target = this.topics.get(topic);
        if (target?.type !== 'conn' && target?.type !== 'user') return;
        const { code, reason } = JSON.parse(body) as { code: number; reason: string };
        delivery.disconnectLocal(target, code, reason);
        return;
      }
      case 's':
        if (origin !== this.options.node) {
          this.pub
            .publish(this.keys.nodeTopic(origin), `r\t${this.options.node}\t\t${JSON.stringify({ reqId: body, status: delivery.status() })}`)
            .catch((err) => this.log.warn({ err }, 'status answer failed'));
        }
        return;
      case 'r': {
        const { reqId, status } = JSON.parse(body) as { reqId: string; status: Status };
        const pending = this.pendingStatus.get(reqId);
        if (!pending) return;
        pending.statuses.push(status);
        if (pending.statuses.length >= pending.expected) pending.done();
        return;
      }
    }
  }

  private readonly beatNow = () => void this.beat().catch((err) => this.log.warn({ err }, 'heartbeat failed'));

  /**
   * Marks this node alive and reaps nodes whose heartbeat stopped (one reaper each, by lock).
   * A node that finds itself missing from the node list lost its presence with it (Redis restarted
   * without persistence, or another node reaped it) and writes it back.
   */
  private async beat(): Promise<void> {
    const now = Date.now();
    if ((await this.pub.zadd(this.keys.nodes(), now, this.options.node)) === 1) this.presenceLost = true;
    if (this.presenceLost) {
      const entries = await this.presence.restore();
      this.presenceLost = false;
      if (entries > 0) this.log.info({ entries }, 'this node was missing from the node list (Redis lost its data, or reaped it): presence written back');
    }
    const dead = await this.pub.zrangebyscore(this.keys.nodes(), '-inf', now - this.options.nodeTtlMs);
    for (const node of dead) {
      if (node === this.options.node) continue;
      if ((await this.pub.set(this.keys.reapLock(node), this.options.node, 'PX', this.options.nodeTtlMs, 'NX')) !== 'OK') continue;
      const gone = await this.presence.reap(node);
      this.log.info({ node, users: gone.length }, 'reaped dead node');
      for (const { channel, user } of gone) this.delivery?.userGone(channel, user);
    }
  }

  private topicOf(target: Target): string {
    switch (target.type) {
      case 'channel':
        return this.keys.channelTopic(target.channel);
      case 'user':
        return this.keys.userTopic(target.userId);
      case 'conn':
        return this.keys.connTopic(target.connId);
      case 'all':
        return this.keys.allTopic();
    }
  }
}

const noneExcepted: readonly string[] = [];

function freshEpoch(): string {
  return randomBytes(6).toString('base64url').replace(/[-_]/g, 'x');
}
