import type { StateStore } from './store';

/** Single-process store. Values are cloned in and out so callers cannot mutate shared state by accident. */
export class MemoryStore implements StateStore {
  private readonly values = new Map<string, unknown>();

  async get<T>(key: string): Promise<T | undefined> {
    const v = this.values.get(key);
    return v === undefined ? undefined : (structuredClone(v) as T);
  }

  async set<T>(key: string, value: T): Promise<void> {
    this.values.set(key, structuredClone(value));
  }

  async update<T>(key: string, fn: (current: T | undefined) => T): Promise<T> {
    // No await between read and write: nothing can interleave within one process.
    const current = this.values.get(key);
    const next = fn(current === undefined ? undefined : (structuredClone(current) as T));
    this.values.set(key, structuredClone(next));
    return next;
  }

  async append<T>(key: string, item: T, max: number): Promise<void> {
    let list = this.values.get(key) as unknown[] | undefined;
    if (!list) this.values.set(key, (list = []));
    list.push(structuredClone(item));
    if (list.length > max) list.splice(0, list.length - max);
  }

  async list<T>(key: string): Promise<T[]> {
    return structuredClone((this.values.get(key) as T[] | undefined) ?? []);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix));
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  async close(): Promise<void> {
    this.values.clear();
  }
}
