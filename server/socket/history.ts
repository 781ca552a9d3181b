import { socketDefaults } from './limits';

/**
 * Channel history, for resuming after a reconnect and for filling a node's gaps. Every channel
 * frame gets a position: an epoch (changes when history is lost: a restart, or a channel quiet
 * for the TTL) and an offset, 1, 2, 3… within it. The broker stamps positions as it publishes
 * (so order and offsets agree on every node); a History answers "what came after this position?".
 */
export interface Position {
  epoch: string;
  offset: string;
}

/** What history holds after a position (`History.read`). */
export interface HistoryRead {
  /** The channel's latest position; undefined when it has no history (never published, quiet for the TTL, or lost). */
  head?: Position;
  /** Frames after the position that history still holds, oldest first, positions embedded, all of `head`'s epoch. */
  frames: string[];
  /** Whether `frames` is every frame after the position: nothing between was trimmed, expired or lost. */
  complete: boolean;
}

export interface History {
  /** The channel's latest position (what the next frame follows); undefined without history. */
  head(channel: string): Promise<Position | undefined>;
  /**
   * What history still holds after `since`, even when it is not everything:
   * - `since` in the current epoch: the frames after it that are kept; complete when none between
   *   was trimmed (WS_HISTORY_SIZE) or expired (WS_HISTORY_TTL_MS);
   * - `since` of another epoch (that history is gone): every frame kept of the current epoch,
   *   never complete (what came after `since` in its own epoch is unknowable);
   * - no `since`: every frame kept of the current epoch, complete when its first one is kept.
   */
  read(channel: string, since?: Position): Promise<HistoryRead>;
}

export interface HistoryOptions {
  /** Frames kept per channel (0 disables history and positions). */
  size: number;
  /** How long a frame is kept, in ms. */
  ttlMs: number;
}

/** A read's frames when they are all there is (History.since). */
export function completeFrames(read: HistoryRead): string[] | undefined {
  return read.complete ? read.frames : undefined;
}

/** The defaults of limits.ts (WS_HISTORY_SIZE, WS_HISTORY_TTL_MS). */
export const historyDefaults: HistoryOptions = { size: socketDefaults.historySize, ttlMs: socketDefaults.historyTtlMs };

/** Orders two offsets of one epoch: numbers, or Redis stream ids `ms-seq`. */
export function compareOffsets(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('-').map(Number);
  const [b1 = 0, b2 = 0] = b.split('-').map(Number);
  return a1 - b1 || a2 - b2;
}

/** The offset embedded by withPosition, read without parsing the whole frame. */
export function offsetOf(data: string): string | undefined {
  if (!data.startsWith('{"offset":"')) return undefined;
  return data.slice(11, data.indexOf('"', 11));
}

/** The position embedded by withPosition, offset as a number; undefined for an unstamped frame. */
export function positionOf(data: string): { epoch: string; offset: number } | undefined {
  const offset = offsetOf(data);
  if (offset === undefined) return undefined;
  const from = 11 + offset.length + 11; // past `{"offset":"<offset>","epoch":"`
  return { epoch: data.slice(from, data.indexOf('"', from)), offset: Number(offset) };
}

/** Embeds a position into an encoded frame without re-serializing it. */
function withPosition(data: string, epoch: string, offset: string): string {
  return `{"offset":"${offset}","epoch":"${epoch}",${data.slice(1)}`;
}

function newEpoch(): string {
  return Math.random().toString(36).slice(2, 10);
}

interface Entry {
  offset: number;
  time: number;
  data: string;
}

/**
 * Single-node history: a bounded list per channel. Each channel record has its own epoch, so
 * a record dropped after its TTL (or a restart) can never be confused with a new one.
 */
export class MemoryHistory implements History {
  private readonly channels = new Map<string, { epoch: string; next: number; entries: Entry[] }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: HistoryOptions = historyDefaults) {
    // Quiet channels are trimmed here too, so expired frames do not wait for the next publish.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, options.ttlMs / 2)).unref();
  }

  get enabled(): boolean {
    return this.options.size > 0;
  }

  /** Records a frame and returns it with its position embedded. */
  stamp(channel: string, data: string): string {
    let ch = this.channels.get(channel);
    if (!ch) this.channels.set(channel, (ch = { epoch: newEpoch(), next: 1, entries: [] }));
    const offset = ch.next++;
    const now = Date.now();
    // Kept unstamped (one flat string); the position is added again on replay.
    ch.entries.push({ offset, time: now, data });
    this.trim(ch.entries, now);
    return withPosition(data, ch.epoch, String(offset));
  }

  async head(channel: string): Promise<Position | undefined> {
    const ch = this.channels.get(channel);
    return ch && { epoch: ch.epoch, offset: String(ch.next - 1) };
  }

  async read(channel: string, since?: Position): Promise<HistoryRead> {
    const ch = this.channels.get(channel);
    // No record (expired, or another process): no epoch, nothing after any position.
    if (!ch) return { frames: [], complete: since === undefined };
    const now = Date.now();
    this.trim(ch.entries, now);
    const head = { epoch: ch.epoch, offset: String(ch.next - 1) };
    const offset = since ? Number(since.offset) : 0;
    const known = since === undefined || (since.epoch === ch.epoch && Number.isSafeInteger(offset) && offset >= 0);
    const from = known ? offset : 0;
    if (from >= ch.next - 1) return { head, frames: [], complete: known };
    const kept = ch.entries.filter((e) => e.offset > from);
    // Complete only if nothing between `from` and the oldest kept frame was dropped.
    const complete = known && kept[0]?.offset === from + 1;
    return { head, frames: kept.map((e) => withPosition(e.data, ch.epoch, String(e.offset))), complete };
  }

  close(): void {
    clearInterval(this.sweeper);
    this.channels.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, ch] of this.channels) {
      this.trim(ch.entries, now);
      // Empty means its last frame outlived the TTL: resuming from it would fail anyway.
      if (ch.entries.length === 0) this.channels.delete(key);
    }
  }

  private trim(entries: Entry[], now: number): void {
    const { size, ttlMs } = this.options;
    let drop = Math.max(0, entries.length - size);
    while (drop < entries.length && now - entries[drop]!.time > ttlMs) drop++;
    if (drop) entries.splice(0, drop);
  }
}
