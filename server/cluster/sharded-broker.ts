import type { Cluster } from 'ioredis';
import { Throttle } from '../socket/throttle';
import { OrderedBatches } from './ordered-batches';
import { RedisBroker } from './redis-broker';

/**
 * The Broker on a Redis Cluster: RedisBroker's history and commands, over sharded pub/sub. Every
 * topic is an SPUBLISH/SSUBSCRIBE shard channel (keys carry the hash tags of ClusterKeys), so a
 * frame goes only to the shard owning its slot and to the nodes subscribed there, never across
 * the cluster bus; ioredis's `shardedSubscribers` keeps one subscriber connection per master this
 * node has topics on, and follows failovers and slot moves, subscribing again by itself. What
 * this node publishes goes in batches, one call in flight per topic (OrderedBatches).
 */
export class ShardedBroker extends RedisBroker<Cluster> {
  /** Topics ioredis subscribes (and subscribes again after a failover or slot move) for us. */
  private readonly listening = new Set<string>();
  /**
   * Each topic's envelopes and each channel's frames in the order this node published them, even
   * through a failover (ioredis retries each command on its own timer: those queued meanwhile
   * would reach the promoted replica in any order).
   */
  private readonly envelopes = new OrderedBatches((topic, envelopes) => this.pub.wsfSPublishAll(topic, ...envelopes));
  private readonly frames = new OrderedBatches((channel, frames) => this.pub.wsfSPublish(...this.stampArgs(channel, this.names.channelTopic(channel)), ...frames));

  /** ioredis subscribed again somewhere: channel gaps are read from history. */
  private readonly resubscribed = new Throttle<'all'>(
    () => this.reconnected(),
    () => refillEveryMs,
  );

  protected override send(topic: string, envelope: string): Promise<unknown> {
    return this.envelopes.add(topic, envelope);
  }

  protected override sendStamped(channel: string, _topic: string, head: string, data: string): Promise<unknown> {
    return this.frames.add(channel, head, data);
  }

  /**
   * SSUBSCRIBE, one command a topic (the channels of one command must share a slot; a node
   * listens to a topic at a time, but for its first three). Topics already listened to are left
   * alone: ioredis has them and subscribes them again wherever their slot now lives, and adding
   * them twice would make it keep (and resubscribe) duplicates.
   */
  protected override listen(topics: string[]): Promise<unknown> {
    const fresh = topics.filter((t) => !this.listening.has(t));
    return Promise.all(
      fresh.map((t) => {
        this.listening.add(t);
        return this.sub.ssubscribe(t).catch((err: unknown) => {
          this.listening.delete(t); // the next listen tries again
          throw err;
        });
      }),
    );
  }

  protected override unlisten(topics: string[]): Promise<unknown> {
    for (const t of topics) this.listening.delete(t);
    return Promise.all(topics.map((t) => this.sub.sunsubscribe(t)));
  }

  protected override async open(): Promise<void> {
    this.sub.on('smessage', (topic: string, message: string) => this.received(topic, message));
    // After a subscriber connection was replaced (its master failed over or restarted, a slot
    // moved), ioredis has sent the SSUBSCRIBEs again: what went by meanwhile is read from history.
    // (Also at start, when no channel is listened to yet: then there is nothing to read.) ioredis
    // says so again at each of its retries through a failover: one reading a second is enough.
    this.sub.on('subscribersReady', () => this.resubscribed.poke('all'));
  }

  override async close(): Promise<void> {
    this.resubscribed.close();
    await super.close();
  }
}

/** At most one reading of every channel's gap from history this often while ioredis resubscribes. */
const refillEveryMs = 1000;
