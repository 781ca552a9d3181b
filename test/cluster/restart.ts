/**
 * Redis restarted (without persistence) in the middle of a steady stream, measured from the
 * subscribers' side: what each got, what it lost, and whether each lost frame was really gone.
 * Used by test/cluster.test.ts (100 frames/s) and by test/cluster/restart-loss.ts (a script:
 * 50, 100 and 500 frames/s, several runs, the figures of docs/cluster.md).
 *
 * What "really gone" means, per subscriber, when Redis comes back empty:
 * - the old epoch's history died with Redis, so frames of it that had not reached the subscriber's
 *   node (in flight at the kill) are gone: only frames sent just before the kill may be missing;
 * - the new epoch starts with the frames queued while Redis was down. A node reads history when
 *   its subscriber connection is back: frames of the new epoch already trimmed by then are gone,
 *   every later one must arrive. The node reads before it delivers its first frame of the new
 *   epoch, so at most `sent by then - WS_HISTORY_SIZE` of them can have been trimmed;
 * - one `recovery-failed` per subscriber, before its first frame of the new epoch (what the old
 *   epoch's last frames were cannot be known), and it covers the new epoch's trimmed start too.
 */
import { sleep } from '../helpers';
import type { RecordingSocket } from './clients';
import type { RedisServer } from './processes';

export interface RestartOptions {
  redis: RedisServer;
  /** The subscribers, already joined to `channel`, each with the node it is on. */
  subscribers: Array<{ node: string; socket: RecordingSocket }>;
  channel: string;
  /** Publishes `chat` frame `m<n>` to the channel (through a node). */
  publish: (n: number) => void;
  /** Frames a second. */
  rate: number;
  /** Redis is killed after this many frames… */
  killAfter: number;
  /** …and restarted this long after the kill. */
  downMs: number;
  /** Frames published in all. */
  total: number;
  /** WS_HISTORY_SIZE of the nodes. */
  historySize: number;
}

export interface SubscriberResult {
  node: string;
  /** Frames it never got. */
  lost: number;
  /** Of those, frames of the old epoch (in flight at the kill). */
  lostOld: number;
  /** Of those, frames at the start of the new epoch (trimmed before its node read history). */
  lostNew: number;
  /** The most frames of the new epoch history could have trimmed before its node read it. */
  gone: number;
  recoveryFailed: number;
}

export interface RestartResult {
  rate: number;
  historySize: number;
  /** From the kill until Redis answered again. */
  downMs: number;
  /** Frames published while Redis was down (queued on the publishing node). */
  sentWhileDown: number;
  subscribers: SubscriberResult[];
  /** Everything that contradicts the guarantee: empty when it held. */
  violations: string[];
}

export async function restartMidStream(o: RestartOptions): Promise<RestartResult> {
  const everyMs = 1000 / o.rate;
  const sentAt: number[] = [];
  let killedAt = 0;
  let restartedAt = 0;
  let restarting: Promise<void> | undefined;
  const start = Date.now();
  for (let n = 1; n <= o.total; n++) {
    const due = start + (n - 1) * everyMs;
    if (due > Date.now() + 1) await sleep(due - Date.now());
    o.publish(n);
    sentAt[n] = Date.now();
    if (n === o.killAfter) {
      killedAt = Date.now();
      await o.redis.kill();
      restarting = sleep(o.downMs).then(async () => {
        await o.redis.restart();
        restartedAt = Date.now();
      });
    }
  }
  await restarting;
  // Until every subscriber has the last frame, or a while after the last frame was sent.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !o.subscribers.every((s) => s.socket.numbers(o.channel).includes(o.total))) await sleep(50);
  await sleep(300); // anything duplicated would have arrived by now

  const violations: string[] = [];
  const sentBy = (t: number) => sentAt.filter((x) => x !== undefined && x <= t).length;
  const chat = (s: RecordingSocket) => s.frames.map((f, i) => ({ f, at: s.receivedAt[i]! })).filter(({ f }) => f.cmd === 'chat' && f.channel === o.channel);
  // The new epoch: that of the last frames. Its first frame (offset 1) is message e0.
  const epochs = new Set(o.subscribers.map((s) => chat(s.socket).at(-1)?.f.epoch));
  if (epochs.size !== 1) violations.push(`subscribers end in different epochs: ${[...epochs].join(', ')}`);
  const newEpoch = [...epochs][0];
  let e0: number | undefined;
  for (const s of o.subscribers) {
    for (const { f } of chat(s.socket)) {
      if (f.epoch !== newEpoch) continue;
      const first = Number((f.param as { text: string }).text.slice(1)) - Number(f.offset) + 1;
      if (e0 === undefined) e0 = first;
      else if (e0 !== first) violations.push(`the new epoch's offsets do not follow the publishing order (m${first} vs m${e0} at offset 1)`);
    }
  }
  if (e0 === undefined) throw new Error('no subscriber got a frame of the new epoch');

  const subscribers: SubscriberResult[] = [];
  for (const [i, { node, socket }] of o.subscribers.entries()) {
    const who = `subscriber ${i} (${node})`;
    const got = socket.numbers(o.channel);
    for (let j = 1; j < got.length; j++) if (got[j]! <= got[j - 1]!) violations.push(`${who}: m${got[j]} after m${got[j - 1]} (duplicate or out of order)`);
    const have = new Set(got);
    const missing = Array.from({ length: o.total }, (_, j) => j + 1).filter((n) => !have.has(n));
    const old = missing.filter((n) => n < e0);
    const fresh = missing.filter((n) => n >= e0);
    // Old epoch: only frames in flight at the kill can have died with Redis.
    for (const n of old) if (sentAt[n]! < killedAt - 50) violations.push(`${who}: lost m${n} of the old epoch, sent ${killedAt - sentAt[n]!} ms before the kill`);
    // New epoch: a trimmed start only, no hole after the first frame delivered.
    const firstNew = chat(socket).find(({ f }) => f.epoch === newEpoch);
    const firstNewN = firstNew ? Number((firstNew.f.param as { text: string }).text.slice(1)) : o.total + 1;
    const holes = fresh.filter((n) => n > firstNewN);
    if (holes.length) violations.push(`${who}: lost ${holes.length} frames after its first of the new epoch (m${holes[0]}…), which history held`);
    const publishedBeforeRead = firstNew ? sentBy(firstNew.at) - (e0 - 1) : 0;
    const gone = Math.max(0, publishedBeforeRead - o.historySize);
    if (fresh.length > gone) violations.push(`${who}: lost ${fresh.length} frames of the new epoch, of which at most ${gone} were trimmed before its node could read them`);
    const rf = socket.frames.findIndex((f) => f.cmd === 'recovery-failed' && f.channel === o.channel);
    const recoveryFailed = socket.frames.filter((f) => f.cmd === 'recovery-failed' && f.channel === o.channel).length;
    if (recoveryFailed !== 1) violations.push(`${who}: ${recoveryFailed} recovery-failed, expected one (the old epoch's history is gone)`);
    const firstNewIndex = socket.frames.findIndex((f) => f.cmd === 'chat' && f.channel === o.channel && f.epoch === newEpoch);
    if (rf < 0 || rf > firstNewIndex) violations.push(`${who}: recovery-failed did not come before its first frame of the new epoch`);
    subscribers.push({ node, lost: missing.length, lostOld: old.length, lostNew: fresh.length, gone, recoveryFailed });
  }
  const sentWhileDown = sentAt.filter((t) => t !== undefined && t > killedAt && t <= restartedAt).length;
  return { rate: o.rate, historySize: o.historySize, downMs: restartedAt - killedAt, sentWhileDown, subscribers, violations };
}

/** One line for the test output and the script. */
export function describeRestart(r: RestartResult): string {
  const lost = r.subscribers.map((s) => s.lost);
  const worst = r.subscribers.reduce((m, s) => Math.max(m, s.lostNew), 0);
  return (
    `${r.rate} frames/s, WS_HISTORY_SIZE=${r.historySize}: Redis down ${r.downMs} ms, ${r.sentWhileDown} frames sent meanwhile; ` +
    `lost per subscriber ${lost.join(', ')} (old epoch ${r.subscribers.map((s) => s.lostOld).join(', ')}; new epoch ${r.subscribers.map((s) => s.lostNew).join(', ')}, ` +
    `really gone at most ${r.subscribers.map((s) => s.gone).join(', ')}); worst ${worst}; recovery-failed ${r.subscribers.map((s) => s.recoveryFailed).join(', ')}` +
    (r.violations.length ? `\n  VIOLATIONS:\n  ${r.violations.join('\n  ')}` : '')
  );
}
