import type { Redis } from 'ioredis';
import type { StateStore } from '../store/store';
import type { Keys } from './keys';
import type { RedisClient, ScriptedRedis } from './scripts';

/** Feature state in Redis, so every node sees one state. Values are JSON. */
export class RedisStore implements StateStore {
  /** The last pending update of each key on this node: the next one waits for it. */
  private readonly updating = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: ScriptedRedis<RedisClient>,
    private readonly k: Keys,
    /** The servers whose keys `keys` scans: the one Redis, or every master of a Redis Cluster. */
    private readonly scanned: () => Redis[] = () => [redis as Redis],
    /** Attempts of an optimistic update before giving up under contention. */
    private readonly maxUpdateAttempts = 100,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    const d = await this.redis.hget(this.k.value(key), 'd');
    return d === null ? undefined : (JSON.parse(d) as T);
  }

  async set<T>(key: string, value: T): Promise<void> {
    const k = this.k.value(key);
    await this.redis.multi().hset(k, 'd', JSON.stringify(value)).hincrby(k, 'v', 1).exec();
  }

  /**
   * Read-modify-write of one key. This node's updates of a key run one after the other, so the
   * optimistic compare-and-set below only ever retries against other nodes, not against a burst
   * of its own (hundreds of local contenders would otherwise exhaust the attempts).
   */
  update<T>(key: string, fn: (current: T | undefined) => T): Promise<T> {
    const run = (this.updating.get(key) ?? Promise.resolve()).then(() => this.compareAndSet(key, fn));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.updating.set(key, settled);
    void settled.then(() => this.updating.get(key) === settled && this.updating.delete(key));
    return run;
  }

  /** Optimistic read-modify-write: retried when another node changed the value in between. */
  private async compareAndSet<T>(key: string, fn: (current: T | undefined) => T): Promise<T> {
    const k = this.k.value(key);
    for (let attempt = 0; attempt < this.maxUpdateAttempts; attempt++) {
      const [v, d] = await this.redis.hmget(k, 'v', 'd');
      const next = fn(d === null || d === undefined ? undefined : (JSON.parse(d) as T));
      if ((await this.redis.wsfCas(k, v ?? '', JSON.stringify(next))) === 1) return next;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
    throw new Error(`store.update("${key}"): too much contention after ${this.maxUpdateAttempts} attempts`);
  }

  async append<T>(key: string, item: T, max: number): Promise<void> {
    await this.redis.wsfAppend(this.k.list(key), JSON.stringify(item), max);
  }

  async list<T>(key: string): Promise<T[]> {
    return (await this.redis.lrange(this.k.list(key), 0, -1)).map((s) => JSON.parse(s) as T);
  }

  async keys(prefix: string): Promise<string[]> {
    const found = new Set<string>();
    for (const [kind, strip] of [
      [this.k.value(prefix), this.k.value('').length],
      [this.k.list(prefix), this.k.list('').length],
    ] as const) {
      for (const server of this.scanned()) {
        let cursor = '0';
        do {
          const [next, batch] = await server.scan(cursor, 'MATCH', `${escapeGlob(kind)}*`, 'COUNT', 500);
          for (const k of batch) found.add(k.slice(strip));
          cursor = next;
        } while (cursor !== '0');
      }
    }
    return [...found];
  }

  async delete(key: string): Promise<void> {
    // One key a command: on a Redis Cluster the two may be in different slots.
    await Promise.all([this.redis.del(this.k.value(key)), this.redis.del(this.k.list(key))]);
  }

  async close(): Promise<void> {}
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
