/**
 * Runs `run(key)` at most once per interval per key: at once when the key has been quiet that
 * long, else once at the interval's end, however often it was poked meanwhile; never twice at a
 * time for one key (a poke during a run makes one more run after it). For work whose result is
 * computed when it runs (a user list, a diff of what changed), so that skipped runs lose nothing.
 */
export class Throttle<K> {
  private readonly keys = new Map<K, { last: number; timer?: NodeJS.Timeout; running: boolean; again: boolean }>();

  constructor(
    /** Handles its own errors: a rejection is passed to `onError`. */
    private readonly run: (key: K) => unknown,
    /** The key's interval in ms; asked at every poke, so it may change (e.g. with a channel's size). */
    private readonly intervalMs: (key: K) => number,
    private readonly onError: (err: unknown, key: K) => void = () => {},
  ) {}

  poke(key: K): void {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { last: 0, running: false, again: false }));
    if (s.running) return void (s.again = true);
    if (s.timer) return;
    const wait = s.last + this.intervalMs(key) - Date.now();
    if (wait <= 0) void this.fire(key);
    else s.timer = setTimeout(() => void this.fire(key), wait).unref();
  }

  /** Drops a key's state (its next poke runs at once). */
  forget(key: K): void {
    clearTimeout(this.keys.get(key)?.timer);
    this.keys.delete(key);
  }

  /** Cancels every scheduled run. */
  close(): void {
    for (const s of this.keys.values()) clearTimeout(s.timer);
    this.keys.clear();
  }

  private async fire(key: K): Promise<void> {
    const s = this.keys.get(key);
    if (!s) return;
    s.timer = undefined;
    s.running = true;
    s.last = Date.now();
    try {
      await this.run(key);
    } catch (err) {
      this.onError(err, key);
    } finally {
      s.running = false;
    }
    if (s.again && this.keys.get(key) === s) {
      s.again = false;
      this.poke(key);
    }
  }
}
