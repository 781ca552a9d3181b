import type { Liveness } from '../engine/registry';
import type { Keys } from './keys';
import type { RedisClient } from './scripts';

/**
 * The node list in Redis: a sorted set, node → last heartbeat (ms), which the presence scripts
 * read too (a user counts while a live node has them); a short lock per dead node so one node reaps it.
 */
export class RedisLiveness implements Liveness {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async beat(node: string, now: number): Promise<boolean> {
    return (await this.redis.zadd(this.keys.nodes(), now, node)) === 1;
  }

  live(since: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.nodes(), since, '+inf');
  }

  dead(before: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.nodes(), '-inf', `(${before}`);
  }

  async claim(node: string, by: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.reapLock(node), by, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async forget(node: string): Promise<void> {
    await this.redis.zrem(this.keys.nodes(), node);
  }

  onReconnect(fn: () => void): () => void {
    this.redis.on('ready', fn);
    return () => void this.redis.off('ready', fn);
  }
}
