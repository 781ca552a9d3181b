import type { Sockets } from '../../socket';
import type { StateStore } from '../../store/store';
import { clearCanvas, commitStroke, emptyCanvas, type Canvas, type DrawLimits, type LiveStroke } from './canvas';
import { draw } from './protocol';

/**
 * The whiteboard's state in the store, per room channel `draw:<room>`, and the one way ink gets
 * committed. Shared by the whiteboard's own handler and the Base bridge (base-bridge.ts), so
 * strokes from Base's draw.html and from the page end up on one canvas:
 * - `draw:<room>:canvas`: the committed canvas (entries, version, clears), see canvas.ts;
 * - `draw:<room>:live:<connection id>`: the stroke that connection is drawing, if any.
 */
export const canvasKey = (channel: string) => `${channel}:canvas`;
export const livePrefix = (channel: string) => `${channel}:live:`;
export const liveKey = (channel: string, connId: string) => `${livePrefix(channel)}${connId}`;
/** The whiteboard's channel of a room. */
export const drawChannel = (room: string) => `draw:${room}`;

/** Paints a finished stroke on the canvas (compacting when due) and tells everyone, its author included. */
export async function commitInk(svc: Sockets, store: StateStore, channel: string, stroke: LiveStroke, limits: DrawLimits): Promise<void> {
  if (stroke.points.length === 0) return;
  let committed!: ReturnType<typeof commitStroke>;
  await store.update<Canvas>(canvasKey(channel), (c) => (committed = commitStroke(c ?? emptyCanvas(), stroke, limits)).canvas);
  svc.writeChannel(draw.message(channel, 'commit', { key: stroke.key, version: committed.canvas.version, entry: committed.entry }));
}

/** Takes a connection's live stroke out of the store and commits it. */
export async function finishLive(svc: Sockets, store: StateStore, channel: string, connId: string, limits: DrawLimits): Promise<void> {
  const key = liveKey(channel, connId);
  const stroke = await store.get<LiveStroke>(key);
  if (!stroke) return;
  await store.delete(key);
  await commitInk(svc, store, channel, stroke, limits);
}

/** Clears the canvas and every live stroke, and tells everyone; returns the canvas's new version. */
export async function clearInk(svc: Sockets, store: StateStore, channel: string, by: string, now: number): Promise<number> {
  const canvas = await store.update<Canvas>(canvasKey(channel), (c) => clearCanvas(c ?? emptyCanvas(), by, now));
  for (const key of await store.keys(livePrefix(channel))) await store.delete(key);
  svc.writeChannel(draw.message(channel, 'clear', { version: canvas.version, clears: canvas.clears, by }));
  return canvas.version;
}
