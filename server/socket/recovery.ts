import type { Connection } from './connection';
import { compareOffsets, completeFrames, offsetOf, type Position } from './history';
import type { Hub } from './hub';
import { ReplayGuard } from './replay-guard';

/**
 * Resume: joins (if needed) and replays what the connection missed in `channel` since `since`,
 * in order, before any live frame of that channel; or sends `recovery-failed` so the app can
 * resync. Resolves whether the channel was created and whether the replay was complete.
 */
export async function resume(hub: Hub, conn: Connection, channel: string, since: Position): Promise<{ created: boolean; recovered: boolean }> {
  // Already a member: it has had live frames since it joined, so a replay would repeat them.
  if (conn.channels.includes(channel)) {
    hub.sendDirect(conn, { channel, cmd: 'recovery-failed', param: { reason: 'already a member: what was missed before joining cannot be told apart' } });
    return { created: false, recovered: false };
  }
  // Live frames arriving while history is read wait in the guard, so nothing overtakes the replay.
  const guard = (conn.replay ??= new ReplayGuard());
  guard.hold(channel);
  let missed: string[] | undefined;
  let created: boolean;
  let held: string[];
  try {
    created = await hub.enter(conn, channel);
    // A client's resume is all or nothing: what came after `since`, only when history has all of it.
    missed = completeFrames(await hub.bus.history.read(channel, since));
  } finally {
    held = guard.release(channel);
    if (guard.empty) conn.replay = undefined;
  }
  // First, so the app resyncs before it applies any frame that follows (and the client's new position sticks).
  if (!missed) hub.sendDirect(conn, { channel, cmd: 'recovery-failed', param: { reason: 'history for this position is gone (epoch changed or too old)' } });
  let last = since.offset;
  for (const data of missed ?? []) {
    conn.send(data, Buffer.byteLength(data));
    last = offsetOf(data) ?? last;
  }
  for (const data of held) {
    const offset = offsetOf(data);
    // Frames already replayed from history are skipped; unpositioned ones always pass.
    if (!missed || offset === undefined || compareOffsets(offset, last) > 0) {
      conn.send(data, Buffer.byteLength(data));
      if (missed && offset !== undefined) last = offset;
    }
  }
  // Frames up to `last` may still be in flight on the pub/sub connection: delivery drops them.
  if (missed && last !== since.offset) (conn.replay ??= guard).replayed(channel, since.epoch, Number(last));
  // Announced after history was read: history keeps no `except`, so the replay would show the joiner its own arrival.
  await hub.arrive(conn, channel);
  return { created, recovered: missed !== undefined };
}

/**
 * Where a reconnecting client left off in its route channel: the Socket adds
 * `wsf_since=<epoch>:<offset>:<channel>` to the URL (the route channel is joined during the
 * upgrade, before any join frame could carry a position).
 */
export function resumePosition(url: URL, channel: string): Position | undefined {
  for (const raw of url.searchParams.getAll('wsf_since')) {
    const m = raw.match(/^(\w{1,32}):([\d-]{1,40}):(.*)$/s);
    if (m && m[3] === channel) return { epoch: m[1]!, offset: m[2]! };
  }
  return undefined;
}

/** The `since` of a join frame's param, if it is a well-formed position. */
export function parseSince(param: unknown): Position | undefined {
  const since = (param as { since?: Partial<Position> } | null)?.since;
  const ok = typeof since?.epoch === 'string' && /^\w{1,32}$/.test(since.epoch) && typeof since.offset === 'string' && /^[\d-]{1,40}$/.test(since.offset);
  return ok ? (since as Position) : undefined;
}
