import type { RetryLedger, RetryOutcome } from '../socket/retry-ledger';
import type { RedisClient } from './scripts';

const PENDING = 'pending';

/**
 * The retry ledger in Redis: one string key per user and frame id, claimed with SET NX PX (atomic
 * on its shard), then overwritten with the outcome's JSON. Keys expire by themselves after the
 * dedupe window (WS_DEDUPE_TTL_MS), so their number is bounded by the frames with an `id` sent
 * within it (each under the route's rate limit).
 */
export class RedisLedger implements RetryLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyOf: (key: string) => string,
  ) {}

  async claim(key: string, ttlMs: number): Promise<RetryOutcome | 'pending' | undefined> {
    const k = this.keyOf(key);
    for (;;) {
      if ((await this.redis.set(k, PENDING, 'PX', ttlMs, 'NX')) === 'OK') return undefined;
      const held = await this.redis.get(k);
      if (held === PENDING) return 'pending';
      if (held !== null) return JSON.parse(held) as RetryOutcome;
      // Expired between the two commands: claim again.
    }
  }

  async record(key: string, outcome: RetryOutcome, ttlMs: number): Promise<void> {
    await this.redis.set(this.keyOf(key), JSON.stringify(outcome), 'PX', ttlMs);
  }
}
