import type { Message, PresenceDiff, PresenceUser } from './message';
import type { Profile } from './profile';

export interface AnnouncerOptions {
  /** A channel is announced at most once per this many ms: later changes wait and go out together. */
  intervalMs: number;
  /** Above this many users a channel's diffs carry the count only, and go out less often as it grows. */
  listMax: number;
}

/** One channel's announcement state. */
interface ChannelState {
  joins: Map<string, Profile>;
  leaves: Map<string, Profile>;
  /** When the last announcement went out, and the count it carried. */
  lastSent: number;
  lastCount: number;
  /** The pending changes' announcement is scheduled or on its way. */
  timer?: NodeJS.Timeout;
  sending: boolean;
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
  private readonly channels = new Map<string, ChannelState>();

  constructor(
    private readonly options: AnnouncerOptions,
    /** Hands a frame to the channel (volatile: presence never enters history). */
    private readonly publish: (msg: Message<'presence-diff', PresenceDiff>) => void,
    /** Distinct users in a channel, cluster-wide. */
    private readonly count: (channel: string) => Promise<number>,
  ) {}

  joined(channel: string, user: Profile): void {
    const s = this.state(channel);
    // A leave and a join of one user between two announcements cancel out: they never stopped being there.
    if (!s.leaves.delete(user.id)) s.joins.set(user.id, user);
    this.schedule(channel, s);
  }

  left(channel: string, user: Profile): void {
    const s = this.state(channel);
    if (!s.joins.delete(user.id)) s.leaves.set(user.id, user);
    this.schedule(channel, s);
  }

  /** Drops what is pending (the service is closing). */
  close(): void {
    for (const s of this.channels.values()) clearTimeout(s.timer);
    this.channels.clear();
  }

  private state(channel: string): ChannelState {
    let s = this.channels.get(channel);
    if (!s) this.channels.set(channel, (s = { joins: new Map(), leaves: new Map(), lastSent: 0, lastCount: 0, sending: false }));
    return s;
  }

  private schedule(channel: string, s: ChannelState): void {
    if (s.timer || s.sending) return;
    const { intervalMs, listMax } = this.options;
    const quiet = intervalMs * Math.max(1, Math.ceil(s.lastCount / Math.max(1, listMax)));
    const wait = s.lastSent + quiet - Date.now();
    if (wait <= 0) void this.send(channel, s);
    else s.timer = setTimeout(() => void this.send(channel, s), wait).unref();
  }

  private async send(channel: string, s: ChannelState): Promise<void> {
    s.timer = undefined;
    s.sending = true;
    const count = await this.count(channel);
    s.sending = false;
    // Taken after the count, so changes made meanwhile go out now rather than wait.
    const { joins, leaves } = s;
    s.joins = new Map();
    s.leaves = new Map();
    if (joins.size > 0 || leaves.size > 0) {
      const listed = count <= this.options.listMax;
      this.publish({ channel, cmd: 'presence-diff', param: { joins: listed ? users(joins) : [], leaves: listed ? users(leaves) : [], count } });
      s.lastSent = Date.now();
      s.lastCount = count;
    }
    // Forgotten once quiet long enough for the next change to go out at once anyway.
    if (count === 0) this.channels.delete(channel);
  }
}

function users(m: Map<string, Profile>): PresenceUser[] {
  return [...m.values()].map((u) => ({ userId: u.id, name: u.name }));
}
