import type { Profile, Sockets } from '../../socket';
import type { StateStore } from '../../store/store';
import { roomChannel } from '../chat/chat';
import { chat } from '../chat/protocol';
import { emptyCanvas, pointCount, simplify, toCanvasSpace, type Canvas, type DrawLimits, type LiveStroke } from './canvas';
import { canvasKey, clearInk, commitInk, drawChannel, livePrefix, liveKey } from './ink';
import { draw } from './protocol';

/**
 * The bridge between Base Framework's draw.html (a Base client in the chat room `chat:<room>`,
 * through the Base codec) and the whiteboard (`draw:<room>`): one room name, one canvas.
 *
 * - A Base `draw` frame is one line `{fromX, fromY, toX, toY, color, size}` in the pixels of an
 *   800 × 600 canvas. Lines that continue one another (same style, each starting where the last
 *   ended) grow one live stroke of the Base connection, exactly as the page's `segment`s do, and
 *   are committed when a line does not continue it, when the connection has been idle for a
 *   moment (BaseRelay), or when it closes. The whiteboard's pages see them drawn live.
 * - The whiteboard's strokes reach Base clients as `draw` lines, and its clears as `clear`.
 * - A Base client joining a room gets the canvas replayed as `draw` lines (baseReplay).
 *
 * Scale: Base's 800 × 600 maps onto the whiteboard's 1600 × 1000 canvas space at BASE_SCALE,
 * uniformly, so nothing a Base page draws is lost (it covers the left 1333 × 1000); a Base page
 * shows the left five sixths of the whiteboard (ink further right is clipped by its canvas).
 */
export const BASE_SCALE = 5 / 3;
/** draw.html's default pen (its colour input and size range start there). */
const DEFAULT_COLOR = '#000000';
const DEFAULT_SIZE = 5;

/** A Base `draw` frame's content, as draw.html sends it (`size` from a range input: a string). */
export interface BaseLine {
  fromX: number;
  fromY: number;
  toX: number;
  toY: number;
  color?: string;
  size?: string | number;
  nickname?: string;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

/** A Base pen size (string or number) in the whiteboard's sizes. */
function canvasSize(size: string | number | undefined, limits: Pick<DrawLimits, 'minSize' | 'maxSize'>): number {
  const n = Number(size ?? DEFAULT_SIZE);
  return clamp(Math.round((Number.isFinite(n) ? n : DEFAULT_SIZE) * BASE_SCALE), limits.minSize, limits.maxSize);
}

/**
 * A polyline of the whiteboard (flat canvas-space points) as Base `draw` lines, one per pair of
 * neighbouring points (a lone point: a dot, a line from it to itself). `size` goes as a string,
 * as draw.html sends it. `nickname` labels the drawer's cursor on draw.html; replays leave it out.
 */
function linesOf(points: readonly number[], color: string, size: number, nickname?: string): BaseLine[] {
  const n = pointCount(points);
  const s = String(round1(size / BASE_SCALE));
  const at = (i: number) => [round1(points[2 * i]! / BASE_SCALE), round1(points[2 * i + 1]! / BASE_SCALE)] as const;
  const line = (a: number, b: number): BaseLine => {
    const [fromX, fromY] = at(a);
    const [toX, toY] = at(b);
    return nickname === undefined ? { fromX, fromY, toX, toY, color, size: s } : { fromX, fromY, toX, toY, color, size: s, nickname };
  };
  if (n === 1) return [line(0, 0)];
  const out: BaseLine[] = [];
  for (let i = 1; i < n; i++) out.push(line(i - 1, i));
  return out;
}

let strokes = 0;

/**
 * A Base `draw` line from connection `connId`: extends that connection's live stroke on the
 * whiteboard of `room` or starts a new one (committing the previous), and shows the new points
 * to the whiteboard's pages as a `segment`.
 */
export async function lineFromBase(svc: Sockets, store: StateStore, limits: DrawLimits, connId: string, name: string, room: string, line: BaseLine): Promise<void> {
  const channel = drawChannel(room);
  const color = (line.color ?? DEFAULT_COLOR).toLowerCase();
  const size = canvasSize(line.size, limits);
  const [fx, fy, tx, ty] = toCanvasSpace([line.fromX * BASE_SCALE, line.fromY * BASE_SCALE, line.toX * BASE_SCALE, line.toY * BASE_SCALE], limits) as [number, number, number, number];
  const freshKey = `${connId}:b${(++strokes).toString(36)}`;
  let previous: LiveStroke | undefined;
  let from = 0;
  let added: number[] = [];
  const stroke = await store.update<LiveStroke>(liveKey(channel, connId), (current) => {
    const n = current ? pointCount(current.points) : 0;
    const continues =
      current !== undefined && current.color === color && current.size === size && n > 0 && n < limits.maxStrokePoints && current.points[2 * n - 2] === fx && current.points[2 * n - 1] === fy;
    if (continues) {
      previous = undefined;
      from = n;
      added = [tx, ty];
      return { ...current, points: [...current.points, tx, ty], updatedAt: Date.now() };
    }
    previous = current;
    from = 0;
    added = [fx, fy, tx, ty];
    return { key: freshKey, name, color, size, points: added, updatedAt: Date.now() };
  });
  if (previous) await commitInk(svc, store, channel, previous, limits);
  svc.writeChannel(draw.message(channel, 'segment', { key: stroke.key, name, color, size, from, points: added }));
}

/** A Base `clear`: clears the whiteboard of `room` (its pages see it at once). */
export async function clearFromBase(svc: Sockets, store: StateStore, room: string, by: string): Promise<void> {
  await clearInk(svc, store, drawChannel(room), by, Date.now());
}

/**
 * The whiteboard of `room` as Base `draw` lines, oldest first: committed ink, then strokes in
 * progress. At most `max` lines, the newest ones (a joiner's socket must not be flooded past
 * WS_MAX_BUFFERED: ~130 bytes a line).
 */
export async function baseReplay(store: StateStore, room: string, max: number): Promise<BaseLine[]> {
  const channel = drawChannel(room);
  const canvas = (await store.get<Canvas>(canvasKey(channel))) ?? emptyCanvas();
  const polylines: Array<{ color: string; size: number; points: number[] }> = [];
  for (const e of canvas.entries) for (const points of e.paths) polylines.push({ color: e.color, size: e.size, points });
  for (const key of (await store.keys(livePrefix(channel))).sort()) {
    const live = await store.get<LiveStroke>(key);
    if (live && live.points.length > 0) polylines.push(live);
  }
  const newestFirst: BaseLine[][] = [];
  let count = 0;
  for (let i = polylines.length - 1; i >= 0 && count < max; i--) {
    const p = polylines[i]!;
    let lines = linesOf(p.points, p.color, p.size);
    if (count + lines.length > max) lines = lines.slice(lines.length - (max - count));
    newestFirst.push(lines);
    count += lines.length;
  }
  return newestFirst.reverse().flat();
}

/** Points closer than this (canvas units) to the kept line are left out of Base lines: 0.6 of a Base pixel. */
const FORWARD_EPSILON = 1;

/**
 * New ink of the whiteboard (a stroke's new points, with the point before them when the stroke
 * goes on) as Base `draw` lines to the Base clients of the chat room `room`, if it has anyone: a
 * presence read, then nothing more when the room is empty (the usual case), instead of a frame per
 * line. The segment handler does not wait for it (in a cluster the read is a Redis round trip);
 * reads on one connection answer in order, so the lines still go out in order. Volatile: Base
 * pages never resume, and a page that joins later gets the canvas replayed.
 */
export async function segmentToBase(svc: Sockets, room: string, by: Profile, ink: { color: string; size: number; points: number[] }): Promise<void> {
  const channel = roomChannel(room);
  if ((await svc.presence(channel)).length === 0) return;
  for (const content of linesOf(simplify(ink.points, FORWARD_EPSILON), ink.color, ink.size, by.name)) {
    svc.writeChannelVolatile(chat.message(channel, 'base', { type: 'draw', content, name: by.name, userId: by.id }));
  }
}

/** A whiteboard clear as Base's `clear` to the chat room `room` (one frame: no presence read first; volatile, as segmentToBase). */
export function clearToBase(svc: Sockets, room: string, by: Profile): void {
  svc.writeChannelVolatile(chat.message(roomChannel(room), 'base', { type: 'clear', name: by.name, userId: by.id }));
}
