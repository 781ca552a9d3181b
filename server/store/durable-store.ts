import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { MemoryStore } from './memory-store';
import type { StateStore } from './store';

export interface DurableStoreOptions {
  /** The data directory; the database is the file `state.mdb` in it (created when missing). */
  dir: string;
  /**
   * Bytes of stored values (JSON) past which the least recently written keys are evicted, down to
   * 90 % of it; 0: no bound. Keys starting with `wsforge:` (the store's own) are never evicted.
   */
  maxBytes?: number;
  /** Keys kept in memory only: state that means nothing after a restart (who has which cell selected). */
  volatile?: (key: string) => boolean;
  /** Told about every key evicted by `maxBytes`. */
  onEvict?: (key: string, bytes: number) => void;
  /** The clock of the write times that order eviction. */
  now?: () => number;
}

/** What the store knows of each stored key: its size in bytes and when it was last written. */
interface KeyMeta {
  b: number;
  t: number;
  /** Lists only: the sequence numbers of the oldest item kept and of the next one. */
  first?: number;
  next?: number;
}
type Kind = 'v' | 'l';
type MetaKey = [Kind, string];

/** The file of the database inside the data directory. */
export const DATABASE_FILE = 'state.mdb';
/** Keys under this prefix belong to wsforge itself (the state generation): never evicted. */
const PROTECTED = 'wsforge:';

/**
 * The single-node store that survives restarts: LMDB (the `lmdb` package, prebuilt binaries from
 * the npm registry) in `<dir>/state.mdb`. Write through: every `set`, `update`, `append` and
 * `delete` is a committed transaction, fsync'd (`overlappingSync: false`), before its promise
 * resolves; LMDB's copy-on-write pages mean a crash at any moment leaves the last committed state,
 * with no recovery step. Writes of one event turn share one transaction (one fsync).
 *
 * `update` runs its function inside LMDB's write transaction, which is exclusive (across
 * processes too): updates of a key are serialized and never lose one another. Reads are
 * synchronous reads of the memory map. Values are JSON, as in the Redis store: what `get` returns
 * is a fresh copy. Lists keep one entry per item, so `append` writes one item, not the list.
 */
export class DurableStore implements StateStore {
  private readonly root: RootDatabase;
  private readonly values: Database<Buffer, string>;
  private readonly items: Database<Buffer, [string, number]>;
  private readonly meta: Database<KeyMeta, MetaKey>;
  private readonly memory = new MemoryStore();
  private readonly volatile: (key: string) => boolean;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** Size and write time of every stored key (values and lists), for eviction; `v\0key` / `l\0key`. */
  private readonly sizes = new Map<string, { kind: Kind; key: string; b: number; t: number }>();
  private total = 0;
  private evicting = false;

  constructor(private readonly o: DurableStoreOptions) {
    mkdirSync(o.dir, { recursive: true });
    this.root = open({ path: join(o.dir, DATABASE_FILE), overlappingSync: false, maxDbs: 4 });
    this.values = this.root.openDB<Buffer, string>({ name: 'values', encoding: 'binary' });
    this.items = this.root.openDB<Buffer, [string, number]>({ name: 'items', encoding: 'binary' });
    this.meta = this.root.openDB<KeyMeta, MetaKey>({ name: 'meta', encoding: 'json' });
    this.volatile = o.volatile ?? (() => false);
    this.maxBytes = o.maxBytes ?? 0;
    this.now = o.now ?? Date.now;
    for (const { key, value } of this.meta.getRange()) this.track(key[0], key[1], value);
  }

  /** Bytes of values and list items stored now (JSON), as counted for `maxBytes`. */
  get bytes(): number {
    return this.total;
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (this.volatile(key)) return this.memory.get<T>(key);
    return decode<T>(this.values.getBinary(key));
  }

  async set<T>(key: string, value: T): Promise<void> {
    if (this.volatile(key)) return this.memory.set(key, value);
    const buf = encode(value);
    // undefined is not JSON: like a key that was never set.
    await this.write(key, () => (buf === undefined ? this.removeValue(key) : this.putValue(key, buf)));
  }

  async update<T>(key: string, fn: (current: T | undefined) => T): Promise<T> {
    if (this.volatile(key)) return this.memory.update(key, fn);
    let failed: { error: unknown } | undefined;
    const result = await this.write(key, () => {
      // Computed before anything is written: a function that throws leaves the key as it was
      // (the other writes of the same transaction are not affected).
      let next: T;
      let buf: Buffer | undefined;
      try {
        next = fn(decode<T>(this.values.getBinary(key)));
        buf = encode(next);
      } catch (error) {
        failed = { error };
        return undefined;
      }
      if (buf === undefined) this.removeValue(key);
      else this.putValue(key, buf);
      return next;
    });
    if (failed) throw failed.error;
    return result as T;
  }

  async append<T>(key: string, item: T, max: number): Promise<void> {
    if (this.volatile(key)) return this.memory.append(key, item, max);
    const buf = encode(item) ?? Buffer.from('null');
    await this.write(key, () => {
      const m = this.meta.get(['l', key]) ?? { b: 0, t: 0, first: 0, next: 0 };
      let first = m.first ?? 0;
      const next = (m.next ?? 0) + 1;
      let b = m.b + buf.length;
      this.items.putSync([key, next - 1], buf);
      while (next - first > Math.max(0, max)) {
        b -= this.items.getBinary([key, first])?.length ?? 0;
        this.items.removeSync([key, first]);
        first++;
      }
      this.putMeta('l', key, { b, t: this.now(), first, next });
    });
  }

  async list<T>(key: string): Promise<T[]> {
    if (this.volatile(key)) return this.memory.list<T>(key);
    const m = this.meta.get(['l', key]);
    if (!m) return [];
    return this.items.getRange({ start: [key, m.first ?? 0], end: [key, m.next ?? 0] }).map(({ value }) => decode<T>(value) as T).asArray;
  }

  async keys(prefix: string): Promise<string[]> {
    const found = new Set(await this.memory.keys(prefix));
    for (const kind of ['v', 'l'] as const) {
      for (const [k, key] of this.meta.getKeys({ start: [kind, prefix] })) {
        if (k !== kind || !key.startsWith(prefix)) break;
        if (!this.volatile(key)) found.add(key);
      }
    }
    return [...found];
  }

  async delete(key: string): Promise<void> {
    if (this.volatile(key)) return this.memory.delete(key);
    await this.write(key, () => this.removeKey(key));
  }

  /** Waits for what was written, then closes the database. */
  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
    await this.memory.close();
  }

  // ---- inside a write transaction ----------------------------------------------------------

  /** Runs `fn` in the next write transaction; resolves once that is committed and fsync'd; then keeps the bound. */
  private async write<R>(key: string, fn: () => R): Promise<R> {
    const result = await this.root.transaction(fn);
    if (this.maxBytes > 0 && this.total > this.maxBytes) await this.evict(key);
    return result;
  }

  private putValue(key: string, buf: Buffer): void {
    this.values.putSync(key, buf);
    this.putMeta('v', key, { b: buf.length, t: this.now() });
  }

  private removeValue(key: string): void {
    this.values.removeSync(key);
    this.removeMeta('v', key);
  }

  private removeKey(key: string): void {
    this.removeValue(key);
    const m = this.meta.get(['l', key]);
    if (!m) return;
    for (let seq = m.first ?? 0; seq < (m.next ?? 0); seq++) this.items.removeSync([key, seq]);
    this.removeMeta('l', key);
  }

  private putMeta(kind: Kind, key: string, m: KeyMeta): void {
    this.meta.putSync([kind, key], m);
    this.track(kind, key, m);
  }

  private removeMeta(kind: Kind, key: string): void {
    if (this.meta.removeSync([kind, key])) this.untrack(kind, key);
  }

  // ---- the size bound ----------------------------------------------------------------------

  private track(kind: Kind, key: string, m: KeyMeta): void {
    this.untrack(kind, key);
    this.sizes.set(`${kind}\0${key}`, { kind, key, b: m.b, t: m.t });
    this.total += m.b;
  }

  private untrack(kind: Kind, key: string): void {
    const id = `${kind}\0${key}`;
    const old = this.sizes.get(id);
    if (!old) return;
    this.total -= old.b;
    this.sizes.delete(id);
  }

  /** Deletes the least recently written keys (not `spare`, the one just written) down to 90 % of maxBytes. */
  private async evict(spare: string): Promise<void> {
    if (this.evicting) return;
    this.evicting = true;
    try {
      // Per key (a key may hold a value and a list): its bytes and its last write.
      const perKey = new Map<string, { b: number; t: number }>();
      for (const s of this.sizes.values()) {
        if (s.key === spare || s.key.startsWith(PROTECTED)) continue;
        const k = perKey.get(s.key);
        perKey.set(s.key, k ? { b: k.b + s.b, t: Math.max(k.t, s.t) } : { b: s.b, t: s.t });
      }
      const victims: string[] = [];
      let total = this.total;
      for (const [key, { b }] of [...perKey].sort((a, b) => a[1].t - b[1].t)) {
        if (total <= this.maxBytes * 0.9) break;
        victims.push(key);
        total -= b;
      }
      if (victims.length === 0) return;
      const evicted = await this.root.transaction(() =>
        victims.map((key) => {
          const bytes = (this.sizes.get(`v\0${key}`)?.b ?? 0) + (this.sizes.get(`l\0${key}`)?.b ?? 0);
          this.removeKey(key);
          return { key, bytes };
        }),
      );
      for (const { key, bytes } of evicted) this.o.onEvict?.(key, bytes);
    } finally {
      this.evicting = false;
    }
  }
}

function encode(value: unknown): Buffer | undefined {
  const json = JSON.stringify(value);
  return json === undefined ? undefined : Buffer.from(json);
}

function decode<T>(buf: Buffer | undefined): T | undefined {
  return buf === undefined ? undefined : (JSON.parse(buf.toString()) as T);
}
