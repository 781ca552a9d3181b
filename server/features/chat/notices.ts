import { type Sockets, Throttle } from '../../socket';
import { LIST_INTERVAL_MS } from './chat';
import { chat } from './protocol';

/** At most this many names are spelled out in one coalesced notice ("A, B, C and 7 others joined"). */
const NOTICE_NAMES_MAX = 3;

type Kind = 'join' | 'leave';

interface Pending {
  kind: Kind;
  userId: string;
  name: string;
  /** The connection that caused it: a lone joiner is not told of its own arrival. */
  connId: string;
}

/**
 * Join and leave notices of a room, coalesced like presence-diff: a notice goes out at once when
 * the room has been quiet for LIST_INTERVAL_MS, else one `system` frame per kind at the interval's
 * end covers everyone who came or went meanwhile. Filling a room of n users then costs about
 * n × (fill time ÷ interval) frames instead of n²/2. A user who joined and left within one
 * interval cancels out: nobody saw them.
 */
export class RoomNotices {
  private readonly pending = new Map<string, Pending[]>();
  private readonly throttle: Throttle<string>;

  constructor(private readonly svc: Sockets) {
    this.throttle = new Throttle((channel) => this.send(channel), () => LIST_INTERVAL_MS);
  }

  add(channel: string, notice: Pending): void {
    let list = this.pending.get(channel);
    if (!list) this.pending.set(channel, (list = []));
    const opposite = list.findIndex((p) => p.userId === notice.userId && p.kind !== notice.kind);
    if (opposite >= 0) list.splice(opposite, 1);
    else list.push(notice);
    this.throttle.poke(channel);
  }

  private send(channel: string): void {
    const list = this.pending.get(channel);
    this.pending.delete(channel);
    if (!list) return;
    const time = Date.now();
    for (const kind of ['join', 'leave'] as const) {
      const of = list.filter((p) => p.kind === kind);
      const first = of[0];
      if (!first) continue;
      const verb = kind === 'join' ? 'joined' : 'left';
      const frame = chat.message(channel, 'system', { text: `${names(of.map((p) => p.name))} ${verb} the room`, kind, userId: first.userId, count: of.length, time });
      // One frame for all: a joiner among several sees the others' names (and its own) rather than nothing.
      this.svc.writeChannel(frame, ...(kind === 'join' && of.length === 1 ? [first.connId] : []));
    }
  }
}

/** "Ann", "Ann and Bob", "Ann, Bob and Cy", "Ann, Bob, Cy and 2 others". */
function names(all: string[]): string {
  const shown = all.slice(0, NOTICE_NAMES_MAX);
  const rest = all.length - shown.length;
  if (rest === 0) return shown.length === 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
  return `${shown.join(', ')} and ${rest} other${rest === 1 ? '' : 's'}`;
}
