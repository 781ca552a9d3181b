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

/**
 * The server's state generation as a page last saw it. Every example's snapshot (its `sync`,
 * `hello` or `state`) carries the store's generation (server/store/generation.ts); a page that
 * reconnects and gets another one knows the server lost what it had (a restart without its data,
 * a wiped store): it must drop what it shows, take the server's state as it is, and say so.
 */
export class StateGeneration {
  private known?: string;

  /** Records a snapshot's generation: true when the page had synced with another one (state lost). */
  lost(generation: string): boolean {
    const lost = this.known !== undefined && this.known !== generation;
    this.known = generation;
    return lost;
  }
}

/**
 * Says in one line, below the page's header, that the server lost its state (`#lost-state`, one
 * element however often it happens; the user can dismiss it). Set with textContent.
 */
export function showLostState(root: HTMLElement, text: string): void {
  let line = document.getElementById('lost-state');
  if (!line) {
    line = document.createElement('p');
    line.id = 'lost-state';
    line.className = 'notice';
    line.setAttribute('role', 'status');
    const header = root.querySelector(':scope > header');
    if (header) header.after(line);
    else root.prepend(line);
  }
  const message = document.createElement('span');
  message.textContent = text;
  const dismiss = document.createElement('button');
  dismiss.type = 'button';
  dismiss.className = 'link';
  dismiss.textContent = 'Dismiss';
  dismiss.style.marginLeft = '.6rem';
  dismiss.addEventListener('click', () => line!.remove());
  line.replaceChildren(message, dismiss);
}
