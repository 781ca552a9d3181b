import { expect } from 'chai';
import {
  clearCanvas,
  commitStroke,
  compact,
  drawLimits,
  emptyCanvas,
  pointCount,
  segmentDistance,
  simplify,
  toCanvasSpace,
  type Canvas,
  type DrawLimits,
  type Entry,
} from '../../server/features/draw/canvas';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A freehand-like stroke: a smooth random walk sampled every pixel or two, integer coordinates. */
function freehand(r: () => number, w: number, h: number, n: number): number[] {
  let x = 20 + r() * (w - 40);
  let y = 20 + r() * (h - 40);
  let angle = r() * Math.PI * 2;
  const pts: number[] = [];
  for (let i = 0; i < n; i++) {
    angle += (r() - 0.5) * 0.5;
    x = Math.min(w - 1, Math.max(1, x + Math.cos(angle) * (1 + r())));
    y = Math.min(h - 1, Math.max(1, y + Math.sin(angle) * (1 + r())));
    pts.push(Math.round(x), Math.round(y));
  }
  return pts;
}

/**
 * A reference rasterizer: each pixel gets the index (+1) of the topmost entry whose ink covers
 * its centre (round caps and joins: within size/2 of a polyline), 0 for bare canvas.
 */
function rasterize(entries: Entry[], w: number, h: number): Uint16Array {
  const px = new Uint16Array(w * h);
  entries.forEach((e, index) => {
    const r = e.size / 2;
    for (const p of e.paths) {
      const n = pointCount(p);
      for (let i = 0; i < Math.max(1, n - 1); i++) {
        const ax = p[2 * i]!;
        const ay = p[2 * i + 1]!;
        const bx = n > 1 ? p[2 * i + 2]! : ax;
        const by = n > 1 ? p[2 * i + 3]! : ay;
        for (let y = Math.max(0, Math.floor(Math.min(ay, by) - r)); y <= Math.min(h - 1, Math.ceil(Math.max(ay, by) + r)); y++) {
          for (let x = Math.max(0, Math.floor(Math.min(ax, bx) - r)); x <= Math.min(w - 1, Math.ceil(Math.max(ax, bx) + r)); x++) {
            if (segmentDistance(x + 0.5, y + 0.5, ax, ay, bx, by) <= r) px[y * w + x] = index + 1;
          }
        }
      }
    }
  });
  return px;
}

/** Paint colour of every pixel (entry indexes differ once entries are coalesced; colours must not). */
function colours(entries: Entry[], w: number, h: number): string[] {
  const idx = rasterize(entries, w, h);
  return Array.from(idx, (i) => (i === 0 ? 'bare' : `${entries[i - 1]!.color}`));
}

/** One-sided Hausdorff distance: the furthest any original point is from the simplified polyline. */
function maxDeviation(original: number[], simplified: number[]): number {
  let worst = 0;
  for (let i = 0; i < original.length; i += 2) {
    let best = Infinity;
    const m = pointCount(simplified);
    for (let j = 0; j < Math.max(1, m - 1); j++) {
      const bx = m > 1 ? simplified[2 * j + 2]! : simplified[0]!;
      const by = m > 1 ? simplified[2 * j + 3]! : simplified[1]!;
      best = Math.min(best, segmentDistance(original[i]!, original[i + 1]!, simplified[2 * j]!, simplified[2 * j + 1]!, bx, by));
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

const pairs = (p: number[]) => Array.from({ length: pointCount(p) }, (_, i) => `${p[2 * i]},${p[2 * i + 1]}`);

describe('draw canvas: simplification (Ramer–Douglas–Peucker)', () => {
  it('collapses a straight line to its end points', () => {
    const line = Array.from({ length: 100 }, (_, i) => [i * 3, i * 2]).flat();
    expect(simplify(line, 0.5)).to.deep.equal([0, 0, 297, 198]);
  });

  it('keeps corners and drops consecutive duplicates', () => {
    expect(simplify([0, 0, 5, 0, 10, 0, 10, 0, 10, 5, 10, 10], 0.5)).to.deep.equal([0, 0, 10, 0, 10, 10]);
  });

  it('keeps single points and two-point lines as they are', () => {
    expect(simplify([4, 4], 0.5)).to.deep.equal([4, 4]);
    expect(simplify([4, 4, 4, 4], 0.5)).to.deep.equal([4, 4]);
    expect(simplify([1, 2, 3, 4], 0.5)).to.deep.equal([1, 2, 3, 4]);
  });

  it('keeps a subset of the drawn points, both ends included, none moved further than epsilon', () => {
    const r = rng(7);
    for (let k = 0; k < 50; k++) {
      const p = freehand(r, 400, 300, 50 + Math.floor(r() * 400));
      const s = simplify(p, 0.5);
      expect(s.slice(0, 2)).to.deep.equal(p.slice(0, 2));
      expect(s.slice(-2)).to.deep.equal(p.slice(-2));
      const drawn = new Set(pairs(p));
      for (const q of pairs(s)) expect(drawn.has(q), q).to.equal(true);
      expect(maxDeviation(p, s)).to.be.at.most(0.5);
      expect(pointCount(s)).to.be.below(pointCount(p));
    }
  });
});

describe('draw canvas: commits, clears and compaction', () => {
  const small: DrawLimits = { ...drawLimits, width: 400, height: 250, compactAtEntries: 300, compactAtPoints: 1e9, maxEntries: 1e9, maxPoints: 1e9 };

  it('rounds and clamps client coordinates into canvas space', () => {
    expect(toCanvasSpace([-3, 2.4, 1599.6, 1000.2, 10.5, 0.49])).to.deep.equal([0, 2, 1600, 1000, 11, 0]);
  });

  it('commits strokes on top, one version each, without touching the input', () => {
    const c0 = emptyCanvas();
    const { canvas: c1, entry } = commitStroke(c0, { color: '#ff0000', size: 4, points: [1, 1, 5, 5] });
    const { canvas: c2 } = commitStroke(c1, { color: '#0000ff', size: 2, points: [3, 3] });
    expect(entry).to.deep.equal({ color: '#ff0000', size: 4, paths: [[1, 1, 5, 5]] });
    expect(c0.entries).to.have.length(0);
    expect(c2).to.include({ version: 2, points: 3, compactions: 0 });
    expect(c2.entries.map((e) => e.color)).to.deep.equal(['#ff0000', '#0000ff']);
  });

  it('a clear empties the canvas and is recorded in it', () => {
    let c = commitStroke(emptyCanvas(), { color: '#ff0000', size: 4, points: [1, 1, 5, 5] }).canvas;
    c = clearCanvas(c, 'ann', 1234);
    expect(c).to.include({ version: 2, clears: 1, clearedBy: 'ann', clearedAt: 1234, points: 0 });
    expect(c.entries).to.deep.equal([]);
  });

  it('coalesces only neighbours of the same style, so the layering of colours is kept', () => {
    const e = (color: string, size: number, p: number[]): Entry => ({ color, size, paths: [p] });
    const c: Canvas = {
      ...emptyCanvas(),
      entries: [e('#aa0000', 4, [0, 0, 9, 0]), e('#aa0000', 4, [0, 5, 9, 5]), e('#0000aa', 4, [0, 9, 9, 9]), e('#aa0000', 4, [0, 12, 9, 12]), e('#aa0000', 2, [1, 1])],
      points: 9,
    };
    const out = compact(c, small);
    expect(out.entries.map((x) => [x.color, x.size, x.paths.length])).to.deep.equal([
      ['#aa0000', 4, 2],
      ['#0000aa', 4, 1],
      ['#aa0000', 4, 1],
      ['#aa0000', 2, 1],
    ]);
    expect(out).to.include({ points: 9, compacted: 4, compactions: 1, evicted: 0, version: c.version });
  });

  it('keeps the picture: compaction changes under 1% of the inked pixels, only along edges of the ink', () => {
    const r = rng(42);
    const styles = [
      ['#1d2330', 2],
      ['#e03131', 5],
      ['#1c7ed6', 12],
      ['#2f9e44', 5],
    ] as const;
    let c = emptyCanvas();
    const original: Entry[] = [];
    for (let i = 0; i < 301; i++) {
      // Runs of the same style, as people draw: several strokes, then another colour.
      const [color, size] = styles[Math.floor(i / 7) % styles.length]!;
      const points = freehand(r, small.width, small.height, 20 + Math.floor(r() * 120));
      original.push({ color, size, paths: [points] });
      c = commitStroke(c, { color, size, points }, small).canvas;
    }
    expect(c.compactions).to.equal(1);
    expect(c.version).to.equal(301);
    expect(c.entries.length).to.be.below(60);
    const before = original.reduce((n, e) => n + pointCount(e.paths[0]!), 0);
    expect(c.points).to.be.below(before / 2);

    const w = small.width;
    const h = small.height;
    const a = colours(original, w, h);
    const b = colours(c.entries, w, h);
    let inked = 0;
    let differing = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== 'bare') inked++;
      if (a[i] === b[i]) continue;
      differing++;
      // A pixel that changed must lie at an edge of the original picture (within 2 px of a pixel
      // of another colour): lines move by at most half a unit, so a change is a speck along an
      // edge, never a visible shape.
      const x = i % w;
      const y = (i - x) / w;
      const near = [-2, -1, 0, 1, 2].flatMap((dy) => [-2, -1, 0, 1, 2].map((dx) => a[(y + dy) * w + (x + dx)]));
      expect(near.some((v) => v !== undefined && v !== a[i]), `pixel ${x},${y} changed from ${a[i]} to ${b[i]} away from any edge`).to.equal(true);
    }
    expect(inked).to.be.above(w * h * 0.2);
    expect(differing / inked).to.be.below(0.01);
  });

  it('compacts again only what is new, and stays within the hard bounds by evicting the oldest ink', () => {
    const r = rng(3);
    const limits: DrawLimits = { ...drawLimits, width: 400, height: 250, compactAtEntries: 20, compactAtPoints: 4000, maxEntries: 30, maxPoints: 6000 };
    let c = emptyCanvas();
    const firstPath = freehand(r, 400, 250, 100);
    c = commitStroke(c, { color: '#e03131', size: 3, points: firstPath }, limits).canvas;
    const colours = ['#e03131', '#1c7ed6', '#2f9e44'];
    for (let i = 1; i < 400; i++) {
      c = commitStroke(c, { color: colours[i % 3]!, size: 3, points: freehand(r, 400, 250, 80) }, limits).canvas;
      expect(c.entries.length).to.be.at.most(limits.maxEntries + 1);
      expect(c.points).to.be.at.most(limits.maxPoints + 80);
      expect(c.points).to.equal(c.entries.reduce((n, e) => n + e.paths.reduce((m, p) => m + pointCount(p), 0), 0));
    }
    expect(c.compactions).to.be.above(1);
    expect(c.evicted).to.be.above(0);
    expect(c.version).to.equal(400);
    // The oldest ink went first: the very first stroke is gone, the newest is there untouched.
    const all = c.entries.flatMap((e) => e.paths.map((p) => p.join(',')));
    expect(all).not.to.include(simplify(firstPath, 0.5).join(','));
  });

  it('does not simplify the compacted prefix twice', () => {
    const path = [0, 0, 1, 0, 2, 1, 3, 1, 4, 2];
    const c: Canvas = { ...emptyCanvas(), entries: [{ color: '#000000', size: 2, paths: [path] }], points: 5, compacted: 1 };
    expect(compact(c, small).entries[0]!.paths[0]).to.deep.equal(path);
  });
});
