import { positionOf } from './history';

/**
 * One connection's resumes, as live frames meet them: while a channel's history is read, its
 * live frames are held (replayed after it, in order); once the replay is sent, a live frame at
 * or before its last position is a duplicate still on its way from Redis (pub/sub and the
 * history read travel on different connections) and is dropped, up to the first later frame.
 * Made by the first resume; the connection drops it when it is empty.
 */
export class ReplayGuard {
  /** Channels being replayed, with the live frames that arrived meanwhile. */
  private readonly held = new Map<string, string[]>();
  /** Per replayed channel, the last position sent. */
  private readonly replayedTo = new Map<string, { epoch: string; offset: number }>();

  /** Starts holding `channel`'s live frames; `release` returns them. */
  hold(channel: string): void {
    this.held.set(channel, []);
  }

  release(channel: string): string[] {
    const frames = this.held.get(channel) ?? [];
    this.held.delete(channel);
    return frames;
  }

  /** The replay of `channel` ended at this position: live duplicates up to it are dropped. */
  replayed(channel: string, epoch: string, offset: number): void {
    this.replayedTo.set(channel, { epoch, offset });
  }

  /** True when the live frame is taken here (held, or a duplicate); false when it goes out now. */
  intercept(channel: string, data: string): boolean {
    const held = this.held.get(channel);
    if (held) {
      held.push(data);
      return true;
    }
    const to = this.replayedTo.get(channel);
    if (!to) return false;
    const p = positionOf(data);
    if (p && p.epoch === to.epoch && p.offset <= to.offset) return true;
    this.replayedTo.delete(channel);
    return false;
  }

  get empty(): boolean {
    return this.held.size === 0 && this.replayedTo.size === 0;
  }
}
