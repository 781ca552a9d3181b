import type { Logger } from 'pino';
import { encode } from '../socket/message';
import { positionOf, type History, type Position } from '../socket/history';

/** What this node last handed on in a channel; `epoch` undefined: frames were lost, the next epoch is read from its start. */
interface Track {
  epoch?: string;
  offset: number;
  /** When the last frame was handed on (an epoch that ends after a quiet TTL ends normally). */
  at: number;
  /** Frames waiting while a gap is filled from history, in arrival order. */
  held?: Array<[data: string, except: readonly string[]]>;
}

const noneExcepted: readonly string[] = [];

/**
 * Keeps each channel's frames contiguous on this node. Redis pub/sub delivers at most once: what
 * is published while the node's subscriber connection is down (a network blip, a Redis restart)
 * never arrives. Positions make the gap visible: a frame whose offset skips ahead is held while
 * the missing frames are read from history and handed on first. When history cannot fill the gap
 * (trimmed, expired, or gone with a restarted Redis) the channel's members here get
 * `recovery-failed`, so their apps resync, and delivery goes on.
 */
export class Continuity {
  private readonly channels = new Map<string, Track>();

  constructor(
    private readonly history: History,
    private readonly ttlMs: number,
    /** Hands a frame to this node's members of the channel. */
    private readonly deliver: (channel: string, data: string, except: readonly string[]) => void,
    private readonly log: Logger,
  ) {}

  /** A channel frame from pub/sub, in Redis's order. */
  received(channel: string, data: string, except: readonly string[]): void {
    const t = this.channels.get(channel);
    if (t?.held) return void t.held.push([data, except]);
    const p = positionOf(data);
    if (!p) return this.deliver(channel, data, except); // history is off: nothing to check
    if (!t) {
      this.channels.set(channel, { epoch: p.epoch, offset: p.offset, at: Date.now() });
      return this.deliver(channel, data, except);
    }
    if (p.epoch === t.epoch) {
      if (p.offset <= t.offset) return; // already handed on, from history
      if (p.offset === t.offset + 1) return this.accept(channel, t, p, data, except);
      return this.fill(channel, t, { epoch: t.epoch, offset: String(t.offset) }, [data, except]);
    }
    // Another epoch. One that starts after the old one expired (a quiet TTL) lost nothing; else
    // the old one's history is gone (Redis restarted or lost the keys) and so may be its last frames.
    let told = t.epoch === undefined; // after a loss, already told
    if (!told && Date.now() - t.at < this.ttlMs) told = this.lost(channel, t);
    if (p.offset === 1) return this.accept(channel, t, p, data, except);
    // The new epoch's first frames went by unseen: they are in its history, from its start.
    this.fill(channel, t, { epoch: p.epoch, offset: '0' }, [data, except], told);
  }

  /**
   * The subscriber connection is back (its subscriptions restored once `resubscribed` settles):
   * what was published meanwhile is read from history.
   */
  reconnected(resubscribed: Promise<unknown>): void {
    const waiting = [...this.channels].filter(([, t]) => !t.held && t.epoch !== undefined);
    for (const [, t] of waiting) t.held = [];
    void resubscribed.then(
      () => {
        for (const [channel, t] of waiting) this.fill(channel, t, { epoch: t.epoch!, offset: String(t.offset) });
      },
      () => {
        for (const [channel, t] of waiting) this.fill(channel, t, { epoch: t.epoch!, offset: String(t.offset) });
      },
    );
  }

  /** This node left the channel: a later subscription starts afresh. */
  forget(channel: string): void {
    this.channels.delete(channel);
  }

  private accept(channel: string, t: Track, p: { epoch: string; offset: number }, data: string, except: readonly string[]): void {
    t.epoch = p.epoch;
    t.offset = p.offset;
    t.at = Date.now();
    this.deliver(channel, data, except);
  }

  /**
   * Holds the channel's frames, hands on what history has after `from`, then what was held.
   * When history cannot tell, the members are told (once) and the track starts again: first from
   * the next epoch's start, and if even that is gone, from whatever frame comes next.
   */
  private fill(channel: string, t: Track, from: Position, first?: [string, readonly string[]], told = false): void {
    t.held = first ? [first] : (t.held ?? []);
    const done = (missed: string[] | undefined) => {
      const held = t.held ?? [];
      t.held = undefined;
      if (this.channels.get(channel) !== t) return; // left the channel meanwhile
      if (missed) {
        for (const data of missed) {
          const p = positionOf(data)!;
          if (p.epoch !== t.epoch || p.offset > t.offset) this.accept(channel, t, p, data, noneExcepted);
        }
      } else {
        if (!told) this.lost(channel, t);
        if (from.offset === '0') this.channels.delete(channel);
        else Object.assign(t, { epoch: undefined, offset: 0 });
      }
      for (const [data, except] of held) this.received(channel, data, except);
    };
    this.history.since(channel, from).then(done, (err: unknown) => {
      this.log.warn({ err, channel }, 'history read failed: cannot fill the gap');
      done(undefined);
    });
  }

  /** Frames of this channel were lost here: its members resync. */
  private lost(channel: string, t: Track): true {
    this.log.warn({ channel, epoch: t.epoch, offset: t.offset }, 'channel frames lost: recovery-failed to its members here');
    const frame = { channel, cmd: 'recovery-failed', param: { reason: 'frames of this channel were lost on the server (its history is gone)' } };
    this.deliver(channel, encode(frame), noneExcepted);
    return true;
  }
}
