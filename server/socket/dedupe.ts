/**
 * Retry-safe frames: a frame with a client-chosen `id` runs once per user within a time window;
 * a retry of it (on the same or a later connection of that user) gets the first run's answer, or
 * waits for it while it is still running. Bounded: ids are kept `ttlMs` after they were first
 * seen (longer while their first run is still going) and at most `maxIds` per user, the oldest
 * forgotten first.
 */
export interface DedupeOptions {
  /** How long an id's answer is kept; 0 turns de-duplication off. */
  ttlMs: number;
  /** Ids kept per user. */
  maxIds: number;
}

interface Entry {
  /** The first run's outcome, for the retries: it resolves or rejects as the first run did. */
  readonly outcome: Promise<unknown>;
  settled: boolean;
}

interface Due {
  user: string;
  id: string;
  entry: Entry;
  expires: number;
}

export class Dedupe {
  /** user → id → entry, in the order first seen (the oldest first). */
  private readonly users = new Map<string, Map<string, Entry>>();
  /** Expiries, in order (the TTL is the same for every entry). */
  private due: Due[] = [];
  private dueHead = 0;

  constructor(private readonly options: DedupeOptions) {}

  get enabled(): boolean {
    return this.options.ttlMs > 0;
  }

  /** Ids currently remembered, every user together. */
  get size(): number {
    let n = 0;
    for (const ids of this.users.values()) n += ids.size;
    return n;
  }

  /**
   * Runs `work` unless this user's `id` ran within the window; then the first run's answer
   * (a promise: settled, or settling when the first run ends) is returned instead.
   * `work` is called synchronously and its result returned as is, so sync work stays sync.
   */
  run(user: string, id: string, work: () => unknown): unknown {
    if (!this.enabled) return work();
    const now = Date.now();
    this.expire(now);
    const known = this.users.get(user)?.get(id);
    if (known) return known.outcome;
    let result: unknown;
    let outcome: Promise<unknown>;
    try {
      result = work();
      outcome = Promise.resolve(result);
    } catch (err) {
      outcome = Promise.reject(err);
      outcome.catch(() => {});
      this.remember(user, id, { outcome, settled: true }, now);
      throw err;
    }
    const entry: Entry = { outcome, settled: !(result instanceof Promise) };
    if (!entry.settled) {
      const done = () => {
        entry.settled = true;
      };
      outcome.then(done, done);
    }
    // A retry waits on this outcome: a rejection it sees is handled there, not unhandled here.
    outcome.catch(() => {});
    this.remember(user, id, entry, now);
    return result;
  }

  private remember(user: string, id: string, entry: Entry, now: number): void {
    let ids = this.users.get(user);
    if (!ids) this.users.set(user, (ids = new Map()));
    while (ids.size >= this.options.maxIds) ids.delete(ids.keys().next().value!);
    ids.set(id, entry);
    this.due.push({ user, id, entry, expires: now + this.options.ttlMs });
  }

  /** Forgets the ids whose window is over; one still running is kept another window. */
  private expire(now: number): void {
    while (this.dueHead < this.due.length && this.due[this.dueHead]!.expires <= now) {
      const d = this.due[this.dueHead++]!;
      const ids = this.users.get(d.user);
      if (ids?.get(d.id) !== d.entry) continue; // evicted by the per-user bound already
      if (!d.entry.settled) {
        this.due.push({ ...d, expires: now + this.options.ttlMs });
        continue;
      }
      ids.delete(d.id);
      if (ids.size === 0) this.users.delete(d.user);
    }
    if (this.dueHead > 1024 && this.dueHead * 2 > this.due.length) {
      this.due = this.due.slice(this.dueHead);
      this.dueHead = 0;
    }
  }
}
