import type { Logger } from 'pino';
import type { Broker, BrokerHandler, DisconnectTarget, Target, Topic } from '../socket/broker';
import type { HistoryOptions, HistoryRead, Position } from '../socket/history';
import type { ControlMessage } from '../socket/registry';
import { Continuity } from './continuity';
import { decodeEnvelope, encodeEnvelope, frameHead } from './envelope';

/** The pub/sub topic of each target, and the nodes' control topics. */
export interface WireNames {
  channelTopic(channel: string): string;
  userTopic(userId: string): string;
  connTopic(connId: string): string;
  allTopic(): string;
  /** Control messages to every node. */
  controlTopic(): string;
  /** Control messages to one node. */
  nodeTopic(node: string): string;
}

/**
 * A Broker over a publish/subscribe wire that delivers at most once (Redis pub/sub; a sharded
 * Redis Cluster transport would be another subclass). Written once here: topics, the envelope
 * (envelope.ts), dispatch, and channel continuity (continuity.ts), which turns the wire's
 * at-most-once into the Broker contract's exactly-once-where-history-holds. A transport supplies
 * sending, listening, the atomic stamp-append-publish of a channel frame, and reading history.
 *
 * A node listens only to the topics it holds recipients for (channels with members here, users and
 * connections held here) plus the broadcast topic and its control topics: no firehose. Every frame
 * is published once and delivered by each listening node, the publishing node included, so every
 * node sees a channel's frames in the wire's one order.
 */
export abstract class WireBroker<N extends WireNames = WireNames> implements Broker {
  private handler?: BrokerHandler;
  /** Every topic listened to, and what arrives on it. */
  private readonly topics = new Map<string, Target | 'control'>();
  private readonly continuity: Continuity;
  private warned = false;
  protected readonly log: Logger;

  constructor(
    readonly node: string,
    protected readonly names: N,
    protected readonly historyOptions: HistoryOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ broker: node });
    this.continuity = new Continuity(this, historyOptions.ttlMs, (channel, data, except) => this.handler?.deliver({ type: 'channel', channel }, data, except), this.log);
  }

  // ---- the transport ----

  /** Publishes an encoded envelope on a topic. */
  protected abstract send(topic: string, envelope: string): Promise<unknown>;
  /**
   * In one atomic step: gives the channel frame `data` the channel's next position (a new epoch when
   * the channel has no history), appends it to history (trimmed to `historyOptions.size`, expiring
   * after `ttlMs`) and publishes `head` + the stamped frame on `topic`.
   */
  protected abstract sendStamped(channel: string, topic: string, head: string, data: string): Promise<unknown>;
  /** Listens to topics; resolves once they are confirmed. */
  protected abstract listen(topics: string[]): Promise<unknown>;
  protected abstract unlisten(topics: string[]): Promise<unknown>;
  /**
   * Starts the transport: from then on it calls `received` with what arrives on the topics listened
   * to, and `reconnected` each time its subscriber connection is back after a loss.
   */
  protected abstract open(): Promise<void>;
  abstract head(channel: string): Promise<Position | undefined>;
  abstract read(channel: string, since?: Position): Promise<HistoryRead>;
  abstract close(): Promise<void>;

  // ---- the Broker ----

  async start(handler: BrokerHandler): Promise<void> {
    this.handler = handler;
    const { names } = this;
    this.topics.set(names.allTopic(), { type: 'all' });
    this.topics.set(names.controlTopic(), 'control');
    this.topics.set(names.nodeTopic(this.node), 'control');
    await this.open();
    await this.listen([...this.topics.keys()]);
  }

  publish(target: Target, data: string, except: readonly string[], volatile = false): void {
    const head = frameHead(except);
    const failed = (err: unknown) => this.log.error({ err, target }, 'publish failed');
    if (target.type === 'channel' && !volatile && this.historyOptions.size > 0) {
      this.sendStamped(target.channel, this.names.channelTopic(target.channel), head, data).catch(failed);
    } else {
      this.send(this.topicOf(target), head + data).catch(failed);
    }
  }

  disconnect(target: DisconnectTarget, code: number, reason: string): void {
    this.send(this.topicOf(target), encodeEnvelope({ kind: 'disconnect', code, reason })).catch((err: unknown) => this.log.error({ err }, 'disconnect publish failed'));
  }

  control(to: string | undefined, msg: ControlMessage): void {
    const topic = to === undefined ? this.names.controlTopic() : this.names.nodeTopic(to);
    this.send(topic, encodeEnvelope({ kind: 'control', msg })).catch((err: unknown) => this.log.warn({ err, type: msg.type }, 'control message failed'));
  }

  async subscribe(topic: Topic): Promise<void> {
    const name = this.topicOf(topic);
    this.topics.set(name, topic);
    if (topic.type === 'channel' && this.historyOptions.size > 0) {
      // The channel's position before the subscription: frames after it that go by before the
      // subscription takes effect are read from history (continuity), not lost.
      const head = await this.head(topic.channel).then(
        (p) => ({ p }),
        (err: unknown) => void this.log.warn({ err, channel: topic.channel }, 'channel head unknown: it starts at its first frame'),
      );
      // Left (or left and joined again) meanwhile: that subscription is another's.
      if (this.topics.get(name) !== topic) return;
      if (head) this.continuity.watch(topic.channel, head.p);
    }
    await this.listen([name]);
  }

  async unsubscribe(topic: Topic): Promise<void> {
    const name = this.topicOf(topic);
    this.topics.delete(name);
    if (topic.type === 'channel') this.continuity.forget(topic.channel);
    await this.unlisten([name]);
  }

  /** An envelope arrived on a topic listened to. */
  protected received(topic: string, message: string): void {
    const to = this.topics.get(topic);
    const handler = this.handler;
    if (!to || !handler) return;
    const e = decodeEnvelope(message);
    if ('error' in e) {
      if (!this.warned) this.log.warn({ topic, error: e.error }, 'unreadable envelope dropped (another version of wsforge on the same prefix?)');
      this.warned = true;
      return;
    }
    if (to === 'control') {
      if (e.kind === 'control') handler.control(e.msg);
      return;
    }
    if (e.kind === 'frame') {
      if (to.type === 'channel') this.continuity.received(to.channel, e.data, e.except);
      else handler.deliver(to, e.data, e.except);
    } else if (e.kind === 'disconnect' && (to.type === 'conn' || to.type === 'user')) {
      handler.disconnectLocal(to, e.code, e.reason);
    }
  }

  /** The subscriber connection is back: once every topic is listened to again, what went by is read from history. */
  protected reconnected(): void {
    this.log.info('subscriber connection is back: filling channel gaps from history');
    this.continuity.reconnected(this.listen([...this.topics.keys()]));
  }

  private topicOf(target: Target): string {
    switch (target.type) {
      case 'channel':
        return this.names.channelTopic(target.channel);
      case 'user':
        return this.names.userTopic(target.userId);
      case 'conn':
        return this.names.connTopic(target.connId);
      case 'all':
        return this.names.allTopic();
    }
  }
}
