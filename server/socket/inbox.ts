/**
 * Runs one connection's frames strictly in order. Sync work runs at once, with no allocation
 * beyond the task itself; only when a task returns a promise do later tasks wait in the queue.
 * Past `limit` queued tasks the owner is asked to stop reading (backpressure, nothing dropped).
 */
export class Inbox {
  /** Made when a task first has to wait: most connections never need one. */
  private queue?: Array<() => unknown>;
  private busy = false;
  private paused = false;

  /** `reader` is the WebSocket: no per-connection closures, which idle connections would carry. */
  constructor(
    private readonly limit: number,
    private readonly reader: { pause(): void; resume(): void },
  ) {}

  push(task: () => unknown): void {
    if (this.busy) {
      const queue = (this.queue ??= []);
      queue.push(task);
      if (!this.paused && queue.length >= this.limit) {
        this.paused = true;
        this.reader.pause();
      }
      return;
    }
    this.run(task);
  }

  /** Drops queued tasks: the connection is gone and nobody can receive their answers. */
  clear(): void {
    this.queue = undefined;
  }

  private run(task: () => unknown): void {
    for (let next: (() => unknown) | undefined = task; next; next = this.queue?.shift()) {
      const result = next();
      if (result instanceof Promise) {
        this.busy = true;
        // Tasks catch their own errors; both outcomes just move the queue on.
        const drain = () => this.drain();
        result.then(drain, drain);
        return;
      }
      // Sync tasks drain the queue too: without this, a queue they emptied would stay paused for good.
      this.resumeIfDrained();
    }
  }

  private drain(): void {
    this.busy = false;
    this.resumeIfDrained();
    const next = this.queue?.shift();
    if (next) this.run(next);
  }

  private resumeIfDrained(): void {
    if (this.paused && (this.queue?.length ?? 0) < this.limit / 2) {
      this.paused = false;
      this.reader.resume();
    }
  }
}
