import { defineHandler, type Handler, type Session, SocketError, type Sockets } from '../../socket';
import type { StateStore } from '../../store/store';
import { clearCanvas, commitStroke, drawLimits, emptyCanvas, pointCount, toCanvasSpace, type Canvas, type DrawLimits, type LiveStroke } from './canvas';
import { draw } from './protocol';

/**
 * State in the store, per room channel `draw:<room>`:
 * - `draw:<room>:canvas`: the committed canvas (entries, version, clears), see canvas.ts;
 * - `draw:<room>:live:<connection id>`: the stroke that connection is drawing, if any.
 * Cursors are relayed, never stored.
 */
const canvasKey = (channel: string) => `${channel}:canvas`;
const livePrefix = (channel: string) => `${channel}:live:`;
const liveKey = (channel: string, connId: string) => `${livePrefix(channel)}${connId}`;

export interface DrawHandlerOptions {
  limits?: DrawLimits;
  /** Cursor frames from one connection closer together than this are dropped. Default 40 ms (25 a second). */
  cursorIntervalMs?: number;
  now?: () => number;
}

/**
 * The whiteboard's commands. A connection draws in one room, its route channel `draw:<room>`:
 * mounted with `roomRoute`, whose rule refuses frames naming another channel, every command
 * works on `session.channel`.
 */
export function drawHandler(store: StateStore, options: DrawHandlerOptions = {}): Handler {
  const limits = options.limits ?? drawLimits;
  const cursorIntervalMs = options.cursorIntervalMs ?? 40;
  const now = options.now ?? Date.now;
  /** Per-connection rate limiting only: not shared state, so it stays in this process. */
  const lastCursor = new WeakMap<Session, number>();


  /** Paints a finished stroke on the canvas (compacting when due) and tells everyone, its author included. */
  async function commit(svc: Sockets, channel: string, stroke: LiveStroke): Promise<void> {
    if (stroke.points.length === 0) return;
    let committed!: ReturnType<typeof commitStroke>;
    await store.update<Canvas>(canvasKey(channel), (c) => (committed = commitStroke(c ?? emptyCanvas(), stroke, limits)).canvas);
    svc.writeChannel(draw.message(channel, 'commit', { key: stroke.key, version: committed.canvas.version, entry: committed.entry }));
  }

  /** Takes the connection's live stroke out of the store and commits it. */
  async function finish(svc: Sockets, channel: string, connId: string): Promise<void> {
    const key = liveKey(channel, connId);
    const stroke = await store.get<LiveStroke>(key);
    if (!stroke) return;
    await store.delete(key);
    await commit(svc, channel, stroke);
  }

  return defineHandler(
    draw,
    {
      async sync(svc, conn) {
        const channel = conn.channel;
        // Canvas first, live strokes second: a commit takes the stroke out of `live` before it
        // paints it, so no stroke is in both; one in neither arrives as a `commit` the page applies.
        const canvas = (await store.get<Canvas>(canvasKey(channel))) ?? emptyCanvas();
        const live: LiveStroke[] = [];
        for (const key of await store.keys(livePrefix(channel))) {
          const stroke = await store.get<LiveStroke>(key);
          if (!stroke) continue;
          if (now() - stroke.updatedAt <= limits.liveTimeoutMs) live.push(stroke);
          else {
            // Its author's node went away without committing it: commit it now.
            await store.delete(key);
            await commit(svc, channel, stroke);
          }
        }
        return {
          self: conn.id,
          me: { id: conn.profile.id, name: conn.profile.name },
          width: limits.width,
          height: limits.height,
          version: canvas.version,
          clears: canvas.clears,
          clearedBy: canvas.clearedBy,
          entries: canvas.entries,
          live,
          users: svc.getUsersByChannel(channel),
          limits: { maxSegmentPoints: limits.maxSegmentPoints, maxStrokePoints: limits.maxStrokePoints, minSize: limits.minSize, maxSize: limits.maxSize },
        };
      },

      async segment(svc, conn, { id, color, size, points, end }) {
        const channel = conn.channel;
        const key = `${conn.id}:${id}`;
        const added = toCanvasSpace(points, limits);
        const storeKey = liveKey(channel, conn.id);
        let previous: LiveStroke | undefined;
        let from = 0;
        const stroke = await store.update<LiveStroke>(storeKey, (current) => {
          previous = undefined;
          if (current && current.key !== key) previous = current; // a stroke that never got its `end`
          const same = current?.key === key ? current : undefined;
          from = same ? pointCount(same.points) : 0;
          if (from + pointCount(added) > limits.maxStrokePoints) {
            throw new SocketError('limit_exceeded', `a stroke has at most ${limits.maxStrokePoints} points: start a new one`);
          }
          return { key, name: conn.profile.name, color, size, points: [...(same?.points ?? []), ...added], updatedAt: now() };
        });
        if (previous) await commit(svc, channel, previous);
        if (added.length > 0) svc.writeChannel(draw.message(channel, 'segment', { key, name: conn.profile.name, color, size, from, points: added }), conn.id);
        if (end) {
          await store.delete(storeKey);
          await commit(svc, channel, stroke);
        }
      },

      async clear(svc, conn) {
        const channel = conn.channel;
        const canvas = await store.update<Canvas>(canvasKey(channel), (c) => clearCanvas(c ?? emptyCanvas(), conn.profile.name, now()));
        for (const key of await store.keys(livePrefix(channel))) await store.delete(key);
        svc.writeChannel(draw.message(channel, 'clear', { version: canvas.version, clears: canvas.clears, by: conn.profile.name }));
        return { version: canvas.version };
      },

      cursor(svc, conn, { x, y }) {
        const channel = conn.channel;
        const t = now();
        if (t - (lastCursor.get(conn) ?? -Infinity) < cursorIntervalMs) return; // too fast: dropped
        lastCursor.set(conn, t);
        const { id: userId, name } = conn.profile;
        svc.writeChannel(draw.message(channel, 'cursor', { id: conn.id, userId, name, x: Math.round(x), y: Math.round(y) }), conn.id);
      },

      'cursor-out'(svc, conn) {
        svc.writeChannel(draw.message(conn.channel, 'cursor-gone', { id: conn.id }), conn.id);
      },
    },
    {
      // A page that goes away mid-stroke: its stroke is committed (everyone saw it drawn), its cursor removed.
      async onClose(svc, conn) {
        svc.writeChannel(draw.message(conn.channel, 'cursor-gone', { id: conn.id }), conn.id);
        await finish(svc, conn.channel, conn.id);
      },
    },
  );
}
