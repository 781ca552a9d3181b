/** What an inbox runs for: a connection, which stops reading while its queue is full. */
export interface InboxOwner {
  /** Present only while a task is pending: most connections, most of the time, need none. */
  inbox?: Inbox;
  readonly inboxLimit: number;
  pause(): void;
  resume(): void;
}

/**
 * Runs one connection's frames strictly in order. Sync work runs at once, with no allocation
 * beyond the task itself; only when a task returns a promise is an Inbox made, and later tasks
 * wait in it until it drains, when it goes away again. Past `inboxLimit` queued tasks the owner
 * is asked to stop reading (backpressure, nothing dropped).
 */
export class Inbox {
  private queue: Array<() => unknown> = [];
  private paused = false;

  private constructor(private readonly owner: InboxOwner) {}

  /** Runs `task` now, or after the tasks still pending for `owner`. */
  static push(owner: InboxOwner, task: () => unknown): void {
    if (owner.inbox) return owner.inbox.enqueue(task);
    const result = task();
    if (result instanceof Promise) (owner.inbox = new Inbox(owner)).waitFor(result);
  }

  /** Drops queued tasks: the connection is gone and nobody can receive their answers. */
  clear(): void {
    this.queue = [];
  }

  private enqueue(task: () => unknown): void {
    this.queue.push(task);
    if (!this.paused && this.queue.length >= this.owner.inboxLimit) {
      this.paused = true;
      this.owner.pause();
    }
  }

  private waitFor(result: Promise<unknown>): void {
    // Tasks catch their own errors; both outcomes just move the queue on.
    const next = () => this.next();
    result.then(next, next);
  }

  private next(): void {
    for (let task = this.queue.shift(); task; task = this.queue.shift()) {
      this.resumeIfDrained();
      const result = task();
      if (result instanceof Promise) return this.waitFor(result);
    }
    this.resumeIfDrained();
    this.owner.inbox = undefined;
  }

  private resumeIfDrained(): void {
    if (this.paused && this.queue.length < this.owner.inboxLimit / 2) {
      this.paused = false;
      this.owner.resume();
    }
  }
}
