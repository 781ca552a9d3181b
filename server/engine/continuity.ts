import type { Logger } from 'pino';
import { encode } from '../socket/message';
import { positionOf, type History, type HistoryRead, type Position } from '../socket/history';

/** Where a node is in one channel: the last frame it handed on (or the channel's head when it subscribed). */
interface Track {
  /** Undefined: no epoch known yet (none when it subscribed, or after a loss): the next one is read from its start. */
  epoch?: string;
  offset: number;
  /** When the track last moved (an epoch that ends after a quiet TTL ends normally). */
  at: number;
  /** Frames waiting while history is read, in arrival order. */
  held?: Array<[data: string, except: readonly string[]]>;
  /** Members here were told of a loss and nothing was handed on since: more of the same gap is not told again. */
  told?: boolean;
  /** History could not be read: the next frame is taken as it comes. */
  rebase?: boolean;
}

const noneExcepted: readonly string[] = [];

/**
 * Keeps each channel's frames contiguous on a node whose transport delivers at most once (Redis
 * pub/sub: what is published while the node's subscriber connection is down never arrives).
 * Positions make a gap visible, history fills it:
 * - a frame whose offset skips ahead is held while the frames before it are read from history;
 * - when the subscriber connection is back, each channel's frames are held while what was
 *   published meanwhile is read;
 * - a new epoch whose first frames went by unseen is read from its start.
 * Every frame history still holds is handed on, in order, once. Only what it does not hold is
 * lost: frames trimmed (WS_HISTORY_SIZE) or expired before the node could read them, and the last
 * frames of an epoch whose history is gone (Redis restarted empty: nobody can tell what they were).
 * The channel's members here are then handed one `recovery-failed`, before the frames that follow
 * the gap, so their apps resync.
 */
export class Continuity {
  private readonly channels = new Map<string, Track>();

  constructor(
    private readonly history: Pick<History, 'read'>,
    private readonly ttlMs: number,
    /** Hands a frame to this node's members of the channel. */
    private readonly deliver: (channel: string, data: string, except: readonly string[]) => void,
    private readonly log: Logger,
  ) {}

  /**
   * This node is subscribing to `channel`; `head` is the channel's position read before the
   * subscription (undefined: no history yet). Frames after it that go by before the subscription
   * takes effect are read from history when the first live frame shows the gap.
   */
  watch(channel: string, head: Position | undefined): void {
    // Frames may already have started it (the subscriber connection came back and listened to
    // every topic while this head was read): those are further on, so they stand.
    if (this.channels.has(channel)) return;
    this.channels.set(channel, { epoch: head?.epoch, offset: head ? Number(head.offset) : 0, at: Date.now() });
  }

  /** A channel frame from the transport, in publishing order. */
  received(channel: string, data: string, except: readonly string[]): void {
    const t = this.channels.get(channel);
    if (t?.held) return void t.held.push([data, except]);
    const p = positionOf(data);
    if (!p) return this.deliver(channel, data, except); // history is off: nothing to check
    if (!t) {
      // Not watched (its head could not be read, or it is still being read): it starts here.
      this.channels.set(channel, { epoch: p.epoch, offset: p.offset, at: Date.now() });
      return this.deliver(channel, data, except);
    }
    if (t.rebase) return this.accept(channel, t, p, data, except);
    if (p.epoch === t.epoch) {
      if (p.offset <= t.offset) return; // already handed on, from history
      if (p.offset === t.offset + 1) return this.accept(channel, t, p, data, except);
      return this.fill(channel, t, { epoch: t.epoch, offset: String(t.offset) }, [data, except]);
    }
    // Another epoch. One that starts after the old one expired (quiet for the TTL) lost nothing;
    // otherwise the old one's history is gone (Redis lost its data), and its last frames may be.
    if (t.epoch !== undefined && Date.now() - t.at < this.ttlMs) this.lost(channel, t);
    if (p.offset === 1) return this.accept(channel, t, p, data, except);
    // The new epoch's first frames went by unseen: what history still holds of them comes first.
    this.fill(channel, t, undefined, [data, except]);
  }

  /**
   * The subscriber connection is back (its subscriptions restored once `resubscribed` settles):
   * each channel's frames are held, and what was published meanwhile is read from history.
   */
  reconnected(resubscribed: Promise<unknown>): void {
    const waiting = [...this.channels].filter(([, t]) => !t.held);
    for (const [, t] of waiting) t.held = [];
    const fill = () => {
      for (const [channel, t] of waiting) {
        if (this.channels.get(channel) === t) this.fill(channel, t, t.epoch === undefined ? undefined : { epoch: t.epoch, offset: String(t.offset) });
      }
    };
    void resubscribed.then(fill, fill);
  }

  /** This node left the channel: a later subscription starts afresh. */
  forget(channel: string): void {
    this.channels.delete(channel);
  }

  private accept(channel: string, t: Track, p: { epoch: string; offset: number }, data: string, except: readonly string[]): void {
    t.epoch = p.epoch;
    t.offset = p.offset;
    t.at = Date.now();
    t.told = false;
    t.rebase = false;
    this.deliver(channel, data, except);
  }

  /**
   * Holds the channel's frames and reads what history holds after `from` (undefined: the current
   * epoch from its start); hands on a `recovery-failed` first if that is not everything, then
   * every frame it holds, then what was held (already handed-on ones are dropped).
   */
  private fill(channel: string, t: Track, from: Position | undefined, first?: [string, readonly string[]]): void {
    t.held = first ? [first] : (t.held ?? []);
    const done = (read: HistoryRead | undefined) => {
      const held = t.held ?? [];
      t.held = undefined;
      if (this.channels.get(channel) !== t) return; // left the channel meanwhile
      if (read && followsOn(held, t, read)) {
        // Live frames held meanwhile go on from where the node was, in history's epoch: the wire
        // is ordered, so they are all there is to hand on, even if history was trimmed since (a
        // read that waited through a Redis Cluster failover, then a burst of frames).
      } else if (!read) {
        // Nothing is known: tell the members, and take the held frames as they come.
        this.lost(channel, t);
        Object.assign(t, { epoch: undefined, offset: 0, rebase: true });
      } else {
        if (!read.complete) this.lost(channel, t);
        for (const data of read.frames) {
          const p = positionOf(data)!;
          if (p.epoch !== t.epoch || p.offset > t.offset) this.accept(channel, t, p, data, noneExcepted);
        }
        // Caught up with what history says is the latest (even when its frames were all gone).
        const head = read.head;
        if (!head) Object.assign(t, { epoch: undefined, offset: 0 });
        else if (head.epoch !== t.epoch || Number(head.offset) > t.offset) Object.assign(t, { epoch: head.epoch, offset: Number(head.offset) });
        t.rebase = false;
      }
      for (const [data, except] of held) this.received(channel, data, except);
    };
    this.history.read(channel, from).then(done, (err: unknown) => {
      this.log.warn({ err, channel }, 'history read failed: cannot fill the gap');
      done(undefined);
    });
  }

  /** Frames of this channel were lost here: its members resync (told once per gap). */
  private lost(channel: string, t: Track): void {
    if (t.told) return;
    t.told = true;
    this.log.warn({ channel, epoch: t.epoch, offset: t.offset }, 'channel frames lost: recovery-failed to its members here');
    const frame = { channel, cmd: 'recovery-failed', param: { reason: 'frames of this channel were lost on the server (its history is gone)' } };
    this.deliver(channel, encode(frame), noneExcepted);
  }
}

/** The first frame held is the next one after where the node was (its epoch's first, if history has moved on to a new epoch). */
function followsOn(held: ReadonlyArray<readonly [string, readonly string[]]>, t: Track, read: HistoryRead): boolean {
  const next = held[0] && positionOf(held[0][0]);
  if (!next || next.epoch !== read.head?.epoch) return false;
  return next.epoch === t.epoch ? next.offset === t.offset + 1 : next.offset === 1;
}
