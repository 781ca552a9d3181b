/**
 * Live traffic for the admin tap page. The service checks `active` (one boolean) before building
 * an entry, so traffic costs nothing extra while nobody is watching. Outbound broadcasts are one
 * entry per publish (with its target), not one per recipient.
 */
export interface TapEntry {
  time: number;
  dir: 'in' | 'out';
  /** Sender (in) or the single recipient (out to one connection). */
  conn?: string;
  /** Who an outbound frame went to: `conn`, `channel`, `user:<id>` or `all`. */
  target: string;
  channel: string;
  cmd: string;
  size: number;
  /** The start of the frame's JSON text. */
  preview: string;
}

export type TapListener = (entry: TapEntry) => void;

export class Tap {
  private readonly listeners = new Set<TapListener>();

  constructor(readonly previewLength = 200) {}

  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Starts receiving entries; returns the function that stops it. */
  subscribe(listener: TapListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(entry: Omit<TapEntry, 'time' | 'preview'>, text: string): void {
    const full = { ...entry, time: Date.now(), preview: text.slice(0, this.previewLength) };
    for (const l of this.listeners) l(full);
  }
}
