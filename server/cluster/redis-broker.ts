import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { HistoryOptions, HistoryRead, Position } from '../socket/history';
import { WireBroker } from '../engine/wire-broker';
import type { Keys } from './keys';
import { RedisHistory } from './redis-history';
import type { RedisClient, ScriptedRedis } from './scripts';

export interface RedisBrokerOptions {
  node: string;
  keys: Keys;
  history: HistoryOptions;
  logger: Logger;
}

/**
 * The Broker over one Redis: pub/sub for delivery (SUBSCRIBE only to the topics this node holds
 * recipients for), a Lua script that stamps, appends to the channel's stream and publishes in one
 * step, and the streams for history. Two connections: `pub` for commands (shared with the registry,
 * presence and store), `sub` in subscriber mode. What is generic (envelope, topics, gap filling) is
 * WireBroker's.
 */
export class RedisBroker<Sub extends RedisClient = RedisClient> extends WireBroker<Keys> {
  private readonly history: RedisHistory;
  /** This process, and its publish script calls so far: a call ioredis sends again runs once (scripts.ts, applied). */
  private readonly processId = randomBytes(6).toString('base64url');
  private calls = 0;

  constructor(
    protected readonly pub: ScriptedRedis<RedisClient>,
    protected readonly sub: Sub,
    o: RedisBrokerOptions,
  ) {
    super(o.node, o.keys, o.history, o.logger);
    this.history = new RedisHistory(pub, o.keys, o.history.ttlMs);
  }

  protected send(topic: string, envelope: string): Promise<unknown> {
    return this.pub.publish(topic, envelope);
  }

  protected sendStamped(channel: string, topic: string, head: string, data: string): Promise<unknown> {
    return this.pub.wsfPublish(...this.stampArgs(channel, topic), head, data);
  }

  /** The keys and first arguments of one publish script call (scripts.ts, stampAndPublish), before the frames. */
  protected stampArgs(channel: string, topic: string): Array<string | number> {
    const k = this.names;
    const { size, ttlMs } = this.historyOptions;
    return [k.historyMeta(channel), k.historyStream(channel), topic, size, ttlMs, freshEpoch(), Date.now(), this.node, this.processId, ++this.calls];
  }

  protected listen(topics: string[]): Promise<unknown> {
    return this.sub.subscribe(...topics);
  }

  protected unlisten(topics: string[]): Promise<unknown> {
    return this.sub.unsubscribe(...topics);
  }

  protected async open(): Promise<void> {
    this.sub.on('message', (topic: string, message: string) => this.received(topic, message));
    let connected = this.sub.status === 'ready';
    this.sub.on('ready', () => {
      if (!connected) return void (connected = true);
      // Back after a disconnect: ioredis resubscribes; once that is confirmed, what went by is read from history.
      this.reconnected();
    });
  }

  head(channel: string): Promise<Position | undefined> {
    return this.history.head(channel);
  }

  read(channel: string, since?: Position): Promise<HistoryRead> {
    return this.history.read(channel, since);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    await this.pub.quit().catch(() => undefined);
  }
}

/** A new epoch: word characters only (positions travel in URLs as `epoch:offset:channel`). */
function freshEpoch(): string {
  return randomBytes(6).toString('base64url').replace(/[-_]/g, 'x');
}
