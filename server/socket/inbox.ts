/**
 * Runs one connection's frames strictly in order. Sync work runs at once, with no allocation
 * beyond the task itself; only when a task returns a promise do later tasks wait in the queue.
 * Past `limit` queued tasks the owner is asked to stop reading (backpressure, nothing dropped).
 */
export class Inbox {
  private readonly queue: Array<() => unknown> = [];
  private busy = false;
  private paused = false;

  constructor(
    private readonly limit: number,
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  push(task: () => unknown): void {
    if (this.busy) {
      this.queue.push(task);
      if (!this.paused && this.queue.length >= this.limit) {
        this.paused = true;
        this.pause();
      }
      return;
    }
    this.run(task);
  }

  /** Drops queued tasks: the connection is gone and nobody can receive their answers. */
  clear(): void {
    this.queue.length = 0;
  }

  private run(task: () => unknown): void {
    for (let next: (() => unknown) | undefined = task; next; next = this.queue.shift()) {
      const result = next();
      if (result instanceof Promise) {
        this.busy = true;
        // Tasks catch their own errors; both outcomes just move the queue on.
        result.then(this.drain, this.drain);
        return;
      }
      // Sync tasks drain the queue too: without this, a queue they emptied would stay paused for good.
      this.resumeIfDrained();
    }
  }

  private readonly drain = (): void => {
    this.busy = false;
    this.resumeIfDrained();
    const next = this.queue.shift();
    if (next) this.run(next);
  };

  private resumeIfDrained(): void {
    if (this.paused && this.queue.length < this.limit / 2) {
      this.paused = false;
      this.resume();
    }
  }
}
