import { defineHandler, type Handler, roomOf, type Session, SocketError, type Sockets } from '../../socket';
import { stateGeneration } from '../../store/generation';
import type { StateStore } from '../../store/store';
import { clearToBase, segmentToBase } from './base-bridge';
import { drawLimits, emptyCanvas, pointCount, toCanvasSpace, type Canvas, type DrawLimits, type LiveStroke } from './canvas';
import { canvasKey, clearInk, commitInk, finishLive, livePrefix, liveKey } from './ink';
import { draw } from './protocol';

/**
 * State in the store, per room channel `draw:<room>` (ink.ts): the committed canvas under
 * `draw:<room>:canvas`, each connection's stroke in progress under `draw:<room>:live:<connection id>`.
 * Cursors are relayed, never stored. Strokes and clears also reach Base's draw.html clients in
 * the chat room of the same name (base-bridge.ts), and theirs reach this canvas.
 */
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


  const commit = (svc: Sockets, channel: string, stroke: LiveStroke) => commitInk(svc, store, channel, stroke, limits);

  return defineHandler(
    draw,
    {
      async sync(svc, conn) {
        const channel = conn.channel;
        // Canvas first, live strokes second: a commit takes the stroke out of `live` before it
        // paints it, so no stroke is in both; one in neither arrives as a `commit` the page applies.
        const generation = await stateGeneration(store);
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
          generation,
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
        if (added.length > 0) {
          svc.writeChannel(draw.message(channel, 'segment', { key, name: conn.profile.name, color, size, from, points: added }), conn.id);
          const room = roomOf(channel);
          const before = from > 0 ? stroke.points.slice(2 * from - 2, 2 * from) : [];
          if (room !== undefined) {
            segmentToBase(svc, room, conn.profile, { color, size, points: [...before, ...added] }).catch((err: unknown) => conn.log.warn({ err }, 'whiteboard ink to Base pages failed'));
          }
        }
        if (end) {
          await store.delete(storeKey);
          await commit(svc, channel, stroke);
        }
      },

      async clear(svc, conn) {
        const channel = conn.channel;
        const version = await clearInk(svc, store, channel, conn.profile.name, now());
        const room = roomOf(channel);
        if (room !== undefined) clearToBase(svc, room, conn.profile);
        return { version };
      },

      cursor(svc, conn, { x, y }) {
        const channel = conn.channel;
        const t = now();
        if (t - (lastCursor.get(conn) ?? -Infinity) < cursorIntervalMs) return; // too fast: dropped
        lastCursor.set(conn, t);
        const { id: userId, name } = conn.profile;
        svc.writeChannelVolatile(draw.message(channel, 'cursor', { id: conn.id, userId, name, x: Math.round(x), y: Math.round(y) }), conn.id);
      },

      'cursor-out'(svc, conn) {
        svc.writeChannelVolatile(draw.message(conn.channel, 'cursor-gone', { id: conn.id }), conn.id);
      },
    },
    {
      // A page that goes away mid-stroke: its stroke is committed (everyone saw it drawn), its cursor removed.
      async onClose(svc, conn) {
        svc.writeChannelVolatile(draw.message(conn.channel, 'cursor-gone', { id: conn.id }), conn.id);
        await finishLive(svc, store, conn.channel, conn.id, limits);
      },
    },
  );
}
