import type { Message, PresenceDiff, PresenceUser } from './message';
import type { Profile } from './profile';
import { Throttle } from './throttle';

export interface AnnouncerOptions {
  /** A channel is announced at most once per this many ms: later changes wait and go out together. */
  intervalMs: number;
  /** Above this many users a channel's diffs carry the count only, and go out less often as it grows. */
  listMax: number;
}

/** One channel's changes since its last announcement, and the count that one carried. */
interface Pending {
  joins: Map<string, Profile>;
  leaves: Map<string, Profile>;
  lastCount: number;
}

/**
 * Presence announcements, coalesced like Phoenix's `presence_diff`: one frame per channel carries
 * every join and leave since the last one, to every member. A quiet channel is announced at once;
 * within `intervalMs` of an announcement, changes wait and go out together at its end, so filling
 * a channel of n users costs about n × (fill time ÷ interval) frames, not n². Above `listMax`
 * users the frame carries the count alone, and the channel waits `intervalMs × ⌈count ÷ listMax⌉`
 * between announcements: its members get a bounded number of presence frames a second whatever
 * its size.
 */
export class Announcer {
  private readonly channels = new Map<string, Pending>();
  private readonly throttle: Throttle<string>;

  constructor(
    private readonly options: AnnouncerOptions,
    /** Hands a frame to the channel (volatile: presence never enters history). */
    private readonly publish: (msg: Message<'presence-diff', PresenceDiff>) => void,
    /** Distinct users in a channel, cluster-wide. */
    private readonly count: (channel: string) => Promise<number>,
    onError: (err: unknown) => void,
  ) {
    const { intervalMs, listMax } = options;
    this.throttle = new Throttle(
      (channel) => this.send(channel),
      (channel) => intervalMs * Math.max(1, Math.ceil((this.channels.get(channel)?.lastCount ?? 0) / Math.max(1, listMax))),
      onError,
    );
  }

  joined(channel: string, user: Profile): void {
    const p = this.pending(channel);
    // A leave and a join of one user between two announcements cancel out: they never stopped being there.
    if (!p.leaves.delete(user.id)) p.joins.set(user.id, user);
    this.throttle.poke(channel);
  }

  left(channel: string, user: Profile): void {
    const p = this.pending(channel);
    if (!p.joins.delete(user.id)) p.leaves.set(user.id, user);
    this.throttle.poke(channel);
  }

  /** Drops what is pending (the service is closing). */
  close(): void {
    this.throttle.close();
    this.channels.clear();
  }

  private pending(channel: string): Pending {
    let p = this.channels.get(channel);
    if (!p) this.channels.set(channel, (p = { joins: new Map(), leaves: new Map(), lastCount: 0 }));
    return p;
  }

  private async send(channel: string): Promise<void> {
    const count = await this.count(channel);
    const p = this.pending(channel);
    // Taken after the count, so changes made meanwhile go out now rather than wait.
    const { joins, leaves } = p;
    if (joins.size === 0 && leaves.size === 0) return;
    p.joins = new Map();
    p.leaves = new Map();
    p.lastCount = count;
    const listed = count <= this.options.listMax;
    this.publish({ channel, cmd: 'presence-diff', param: { joins: listed ? users(joins) : [], leaves: listed ? users(leaves) : [], count } });
    // An empty channel starts afresh: its next arrival is announced at once.
    if (count === 0) {
      this.channels.delete(channel);
      this.throttle.forget(channel);
    }
  }
}

function users(m: Map<string, Profile>): PresenceUser[] {
  return [...m.values()].map((u) => ({ userId: u.id, name: u.name }));
}
