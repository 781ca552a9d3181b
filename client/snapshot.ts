export interface SnapshotSyncOptions<F> {
  /** Fetches the snapshot and applies it (a `sync`/`hello` request, usually); throw to retry. */
  load(): Promise<void>;
  /** Applies one live frame; it must skip what the snapshot already has (versions, offsets). */
  apply(frame: F): void;
  /** After a snapshot and the frames that came meanwhile are applied: render. */
  loaded?(): void;
  /** Whether a failed load should be tried again (the socket is still connected). */
  canRetry(): boolean;
  onError?(err: Error): void;
  /** Wait before trying a failed load again, in ms. Default 1000. */
  retryMs?: number;
}

/**
 * Late-joiner state: loads a snapshot of the server's state while live frames are held back,
 * then applies those frames on top, in order. Call `sync()` on every (re)connect and when a
 * frame shows a gap; hand every live frame to `receive`.
 */
export class SnapshotSync<F> {
  private syncing = false;
  private held: F[] = [];

  constructor(private readonly o: SnapshotSyncOptions<F>) {}

  receive(frame: F): void {
    if (this.syncing) this.held.push(frame);
    else this.o.apply(frame);
  }

  async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    this.held = [];
    try {
      await this.o.load();
    } catch (err) {
      this.syncing = false;
      this.o.onError?.(err as Error);
      if (this.o.canRetry()) setTimeout(() => void this.sync(), this.o.retryMs ?? 1000);
      return;
    }
    this.syncing = false;
    const held = this.held;
    this.held = [];
    for (const frame of held) this.o.apply(frame);
    this.o.loaded?.();
  }
}
