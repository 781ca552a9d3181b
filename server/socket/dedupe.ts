import { ErrorCode, SocketError } from './errors';
import type { RetryLedger, RetryOutcome } from './retry-ledger';

/**
 * Retry-safe frames: a frame with a client-chosen `id` runs once per user within a time window;
 * a retry of it (on the same or a later connection of that user) gets the first run's answer, or
 * waits for it while it is still running. Bounded: ids are kept `ttlMs` after they were first
 * seen (longer while their first run is still going) and at most `maxIds` per user, the oldest
 * forgotten first. In a cluster the engine's ledger (retry-ledger.ts) makes this hold across
 * nodes: an id this node has not seen is claimed there before it runs.
 */
export interface DedupeOptions {
  /** How long an id's answer is kept; 0 turns de-duplication off. */
  ttlMs: number;
  /** Ids kept per user (on this node; the ledger keeps each for `ttlMs`). */
  maxIds: number;
  /** The cluster's ledger; none for a node alone, whose own table is the whole truth. */
  ledger?: RetryLedger;
  /** How often a retry asks the ledger again while the first attempt still runs on another node. */
  pollMs: number;
}

/** What Dedupe tells of a ledger it could not use (a connection's `log` will do). */
interface Warn {
  warn(fields: object, message: string): void;
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
  /** Runs `work` once for the user's frame `id`; `log` hears of a ledger that could not be reached. */
  run(user: string, id: string, work: () => unknown, log?: Warn): unknown {
    if (!this.enabled) return work();
    const now = Date.now();
    this.expire(now);
    const known = this.users.get(user)?.get(id);
    if (known) return known.outcome;
    if (this.options.ledger) return this.shared(this.options.ledger, user, id, work, now, log);
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

  /** An id new to this node, in a cluster: claimed in the ledger, run only if the claim is ours. */
  private shared(ledger: RetryLedger, user: string, id: string, work: () => unknown, now: number, log?: Warn): Promise<unknown> {
    const outcome = this.viaLedger(ledger, `${user}:${id}`, work, log);
    const entry: Entry = { outcome, settled: false };
    const done = () => {
      entry.settled = true;
    };
    outcome.then(done, done);
    this.remember(user, id, entry, now);
    return outcome;
  }

  private async viaLedger(ledger: RetryLedger, key: string, work: () => unknown, log?: Warn): Promise<unknown> {
    const ttlMs = this.options.ttlMs;
    for (;;) {
      let seen: RetryOutcome | 'pending' | undefined;
      try {
        seen = await ledger.claim(key, ttlMs);
      } catch (err) {
        log?.warn({ err }, 'retry ledger unreachable: the frame runs, guarded by this node alone');
        return work(); // this node's own table still guards the retries that come back to it
      }
      if (seen === undefined) break;
      if (seen !== 'pending') {
        if (seen.ok) return seen.value;
        throw new SocketError(seen.code as ErrorCode, seen.message);
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs));
    }
    let outcome: RetryOutcome;
    try {
      const value = await work();
      outcome = { ok: true, value: value ?? null };
      return value;
    } catch (err) {
      outcome = err instanceof SocketError ? { ok: false, code: err.code, message: err.message } : { ok: false, code: ErrorCode.internal, message: 'internal error' };
      throw err;
    } finally {
      // Not awaited: the answer goes out now; a retry elsewhere meanwhile waits on 'pending'
      // (until the claim expires, when the outcome could not be recorded).
      ledger.record(key, outcome!, ttlMs).catch((err: unknown) => log?.warn({ err }, 'retry ledger: the outcome was not recorded'));
    }
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
