/**
 * The shared whiteboard's state and its compaction: pure functions, no I/O, no zod, so they are
 * unit-tested on their own and the browser page can import them too.
 *
 * Ink that is finished lives in `Canvas.entries`, in the order the server committed it (later
 * entries paint over earlier ones). An entry is a style (colour, width) and one or more polylines
 * drawn with round caps and joins. Points are flat arrays `[x0, y0, x1, y1, …]` of integers in
 * canvas space (0…width × 0…height), whatever the size the canvas is shown at.
 */

export const drawLimits = {
  /** Canvas space: every coordinate is an integer in 0…width × 0…height. */
  width: 1600,
  height: 1000,
  /** Points in one `segment` frame (a client sends a segment every ~50 ms while drawing). */
  maxSegmentPoints: 64,
  /** Points in one stroke; the page starts a new stroke from the last point when it gets there. */
  maxStrokePoints: 1000,
  minSize: 1,
  maxSize: 48,
  /** Compaction runs after a commit that leaves more entries or points than this… */
  compactAtEntries: 300,
  compactAtPoints: 20_000,
  /** …and after it, the oldest polylines are evicted until the canvas is within these hard bounds. */
  maxEntries: 1000,
  maxPoints: 50_000,
  /** Ramer–Douglas–Peucker tolerance in canvas units: no drawn point ends up further than this from the kept line. */
  epsilon: 0.25,
  /** A live stroke not extended for this long is committed by the next sync (its author's node is gone). */
  liveTimeoutMs: 30_000,
};
export type DrawLimits = typeof drawLimits;

/** Finished ink: one style, one or more polylines (several once compaction has coalesced strokes). */
export interface Entry {
  color: string;
  size: number;
  paths: number[][];
}

export interface Canvas {
  /** +1 for every commit and clear; frames carry it so a client can tell what it has already seen. */
  version: number;
  /** How many times the canvas was cleared; a clear removes every entry and live stroke. */
  clears: number;
  clearedBy?: string;
  clearedAt?: number;
  /** Committed ink, oldest first. */
  entries: Entry[];
  /** Total points of `entries` (kept so the bounds are checked without counting). */
  points: number;
  /** `entries[0…compacted)` are already simplified and coalesced. */
  compacted: number;
  /** Statistics for the docs and tests: compaction runs and polylines evicted by the hard bounds. */
  compactions: number;
  evicted: number;
}

/** A stroke being drawn: its segments so far. `key` is unique per connection and stroke. */
export interface LiveStroke {
  key: string;
  name: string;
  color: string;
  size: number;
  points: number[];
  updatedAt: number;
}

export function emptyCanvas(): Canvas {
  return { version: 0, clears: 0, entries: [], points: 0, compacted: 0, compactions: 0, evicted: 0 };
}

export const pointCount = (path: readonly number[]) => path.length >> 1;
const entryPoints = (e: Entry) => e.paths.reduce((n, p) => n + pointCount(p), 0);

/** Rounds client coordinates into canvas space (integers, clamped). */
export function toCanvasSpace(points: readonly number[], limits: Pick<DrawLimits, 'width' | 'height'> = drawLimits): number[] {
  return points.map((v, i) => Math.min(i % 2 ? limits.height : limits.width, Math.max(0, Math.round(v))));
}

/**
 * Adds a finished stroke on top of the canvas, then compacts when a soft bound is passed.
 * Returns the new canvas (the input is not modified) and the entry as committed.
 */
export function commitStroke(canvas: Canvas, stroke: Pick<LiveStroke, 'color' | 'size' | 'points'>, limits: DrawLimits = drawLimits): { canvas: Canvas; entry: Entry } {
  const entry: Entry = { color: stroke.color, size: stroke.size, paths: [stroke.points.slice()] };
  let next: Canvas = { ...canvas, version: canvas.version + 1, entries: [...canvas.entries, entry], points: canvas.points + pointCount(stroke.points) };
  if (next.entries.length > limits.compactAtEntries || next.points > limits.compactAtPoints) next = compact(next, limits);
  return { canvas: next, entry };
}

/** Clears everything: the canvas keeps only its counters and who cleared it. */
export function clearCanvas(canvas: Canvas, by: string, at: number): Canvas {
  return { ...emptyCanvas(), version: canvas.version + 1, clears: canvas.clears + 1, clearedBy: by, clearedAt: at, compactions: canvas.compactions, evicted: canvas.evicted };
}

/**
 * Compaction keeps the picture and bounds the state:
 * 1. every polyline not yet compacted is simplified with Ramer–Douglas–Peucker at `epsilon`
 *    (0.25 canvas units: the kept points are a subset of the drawn ones and no drawn point is
 *    further than a quarter unit from the kept line; on freehand ink this drops about half the
 *    points and changes well under 1% of the inked pixels, all of them on edges of the ink);
 * 2. consecutive entries of the same colour and width are coalesced into one entry with several
 *    polylines: opaque ink of one style painted in one go looks the same as painted stroke by
 *    stroke, and only neighbours are merged, so which ink lies on top of which never changes;
 * 3. only if the canvas is still past `maxEntries`/`maxPoints`, the oldest polylines are evicted
 *    (the one place the picture changes: the oldest ink of a canvas drawn on for a very long time).
 */
export function compact(canvas: Canvas, limits: DrawLimits = drawLimits): Canvas {
  const entries: Entry[] = [];
  canvas.entries.forEach((e, i) => {
    const paths = i < canvas.compacted ? e.paths : e.paths.map((p) => simplify(p, limits.epsilon));
    const last = entries[entries.length - 1];
    if (last && last.color === e.color && last.size === e.size) last.paths = [...last.paths, ...paths];
    else entries.push({ color: e.color, size: e.size, paths });
  });
  let points = entries.reduce((n, e) => n + entryPoints(e), 0);
  let evicted = 0;
  while (entries.length > 0 && (entries.length > limits.maxEntries || points > limits.maxPoints)) {
    const first = entries[0]!;
    const path = first.paths.shift()!;
    points -= pointCount(path);
    evicted++;
    if (first.paths.length === 0) entries.shift();
  }
  return { ...canvas, entries, points, compacted: entries.length, compactions: canvas.compactions + 1, evicted: canvas.evicted + evicted };
}

/**
 * Ramer–Douglas–Peucker on a flat `[x0, y0, x1, y1, …]` polyline: keeps the end points and every
 * point further than `epsilon` from the chord of its span. Iterative, so long lines cannot
 * overflow the stack. Consecutive duplicate points are dropped first.
 */
export function simplify(path: readonly number[], epsilon: number): number[] {
  const pts: number[] = [];
  for (let i = 0; i + 1 < path.length; i += 2) {
    const n = pts.length;
    if (n >= 2 && pts[n - 2] === path[i] && pts[n - 1] === path[i + 1]) continue;
    pts.push(path[i]!, path[i + 1]!);
  }
  const count = pts.length >> 1;
  if (count <= 2) return pts;
  const keep = new Uint8Array(count);
  keep[0] = keep[count - 1] = 1;
  const stack: Array<[number, number]> = [[0, count - 1]];
  while (stack.length) {
    const [a, b] = stack.pop()!;
    let worst = -1;
    let worstDist = epsilon;
    for (let i = a + 1; i < b; i++) {
      const d = segmentDistance(pts[2 * i]!, pts[2 * i + 1]!, pts[2 * a]!, pts[2 * a + 1]!, pts[2 * b]!, pts[2 * b + 1]!);
      if (d > worstDist) {
        worst = i;
        worstDist = d;
      }
    }
    if (worst < 0) continue;
    keep[worst] = 1;
    stack.push([a, worst], [worst, b]);
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (keep[i]) out.push(pts[2 * i]!, pts[2 * i + 1]!);
  return out;
}

/** Distance from point p to the segment a–b. */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
