import { expect } from 'chai';
import { createDrawFeature } from '../../server/features/draw/routes';
import { closeAll, connect, refusedUpgrade, rng, startApp, type TestApp, type TestClient } from '../helpers';
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
      expect(maxDeviation(p, simplify(p, 0.25))).to.be.at.most(0.25);
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

  it('keeps the picture: compaction changes under 0.5% of the inked pixels, only along edges of the ink', () => {
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
    expect(c.points).to.be.below(before * 0.6);

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
      // of another colour): lines move by at most a quarter unit, so a change is a speck along an
      // edge, never a visible shape.
      const x = i % w;
      const y = (i - x) / w;
      const near = [-2, -1, 0, 1, 2].flatMap((dy) => [-2, -1, 0, 1, 2].map((dx) => a[(y + dy) * w + (x + dx)]));
      expect(near.some((v) => v !== undefined && v !== a[i]), `pixel ${x},${y} changed from ${a[i]} to ${b[i]} away from any edge`).to.equal(true);
    }
    expect(inked).to.be.above(w * h * 0.2);
    expect(differing / inked).to.be.below(0.005);
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
    expect(all).not.to.include(simplify(firstPath, limits.epsilon).join(','));
  });

  it('does not simplify the compacted prefix twice', () => {
    const path = [0, 0, 1, 0, 2, 1, 3, 1, 4, 2];
    const c: Canvas = { ...emptyCanvas(), entries: [{ color: '#000000', size: 2, paths: [path] }], points: 5, compacted: 1 };
    expect(compact(c, small).entries[0]!.paths[0]).to.deep.equal(path);
  });
});

describe('draw over WebSockets', () => {
  let t: TestApp;
  before(async () => {
    // A second whiteboard at /t/draw without a practical frame rate limit, for the bulk test.
    t = await startApp({ features: [createDrawFeature({ path: '/t/draw', rateLimit: { perSecond: 1e6, burst: 1e6 } })] });
  });
  after(closeAll);

  /** A guest cookie from the page, so `?name=` names the connection. */
  async function cookieFor(): Promise<string> {
    const res = await fetch(t.httpUrl('/examples/draw'));
    return res.headers.get('set-cookie')!.split(';')[0]!;
  }
  async function client(room: string, name?: string): Promise<TestClient> {
    const headers = name ? { cookie: await cookieFor() } : undefined;
    return connect(t.url(`/examples/draw/socket?room=${room}${name ? `&name=${name}` : ''}`), { headers });
  }
  const reply = async (c: TestClient, cmd: string, param: unknown = {}) => {
    const f = await c.request('', cmd, param);
    expect(f.cmd, JSON.stringify(f.param)).to.equal('reply');
    return f.param;
  };
  const seg = (id: string, points: number[], extra: object = {}) => ({ cmd: 'segment', param: { id, color: '#E03131', size: 4, points, ...extra } });

  it('serves the page with its room and socket path, escaped', async () => {
    const body = await (await fetch(t.httpUrl('/examples/draw?room=sketch-1&name=%3Cb%3E'))).text();
    expect(body).to.include('data-room="sketch-1"').and.include('data-socket="/examples/draw/socket"').and.include('data-name="&lt;b&gt;"');
    expect(body).to.include('/js/pages/draw.js').and.include('/css/draw.css');
    const fallback = await (await fetch(t.httpUrl('/examples/draw?room=bad%20room'))).text();
    expect(fallback).to.include('data-room="lobby"');
  });

  it('refuses a bad room at the upgrade', async () => {
    expect((await refusedUpgrade(t.url('/examples/draw/socket?room=no%20spaces'))).status).to.equal(400);
  });

  it('streams a stroke live, commits it on end, and gives a late joiner the canvas and the strokes in progress', async () => {
    const a = await client('r1', 'ann');
    const b = await client('r1', 'bob');
    const s0 = await reply(a, 'sync');
    expect(s0).to.include({ version: 0, clears: 0, width: drawLimits.width, height: drawLimits.height });
    expect(s0.entries).to.deep.equal([]);
    expect(s0.self).to.be.a('string');

    a.send(seg('s1', [10, 10, 20.4, 20.6]));
    const first = await b.next({ cmd: 'segment' });
    expect(first.param).to.deep.equal({ key: `${s0.self}:s1`, name: 'ann', color: '#e03131', size: 4, from: 0, points: [10, 10, 20, 21] });
    a.send(seg('s1', [30, 30], { end: true }));
    const second = await b.next({ cmd: 'segment' });
    expect(second.param).to.include({ from: 2 });
    const commitB = await b.waitFor({ cmd: 'commit' });
    const commitA = await a.waitFor({ cmd: 'commit' });
    expect(commitA.param).to.deep.equal(commitB.param);
    expect(commitB.param).to.deep.equal({ key: `${s0.self}:s1`, version: 1, entry: { color: '#e03131', size: 4, paths: [[10, 10, 20, 21, 30, 30]] } });
    // The author's own segments are not echoed back: its page has drawn them already.
    await a.sync();
    expect(a.since(0, { cmd: 'segment' })).to.deep.equal([]);

    // Bob starts a stroke and keeps the pointer down.
    b.send(seg('s2', [100, 100, 110, 100]));
    await a.next({ cmd: 'segment' });
    const c = await client('r1', 'cid');
    const late = await reply(c, 'sync');
    expect(late.version).to.equal(1);
    expect(late.entries).to.deep.equal([commitB.param.entry]);
    expect(late.live).to.have.length(1);
    expect(late.live[0]).to.include({ name: 'bob', color: '#e03131', size: 4 });
    expect(late.live[0].points).to.deep.equal([100, 100, 110, 100]);
    expect(late.users.map((u: { name: string }) => u.name).sort()).to.deep.equal(['ann', 'bob', 'cid']);
    expect(late).not.to.have.property('cursors');
  });

  it('validates every segment: colour, size, canvas bounds, pairs, points per segment and per stroke', async () => {
    const a = await client('r2');
    const bad = async (param: object, code = 'invalid_param') => {
      const f = await a.request('', 'segment', { id: 'x', color: '#000000', size: 3, points: [1, 1], ...param });
      expect(f.cmd, JSON.stringify(param)).to.equal('error');
      expect(f.param.code).to.equal(code);
      return f.param.message as string;
    };
    expect(await bad({ color: 'red' })).to.include('#rrggbb');
    expect(await bad({ color: '#12345' })).to.include('#rrggbb');
    await bad({ size: 0 });
    await bad({ size: drawLimits.maxSize + 1 });
    await bad({ size: 2.5 });
    expect(await bad({ points: [drawLimits.width + 1, 5] })).to.include('canvas');
    expect(await bad({ points: [5, -1] })).to.include('canvas');
    expect(await bad({ points: [1, 2, 3] })).to.include('pairs');
    await bad({ points: [] });
    await bad({ points: new Array(2 * (drawLimits.maxSegmentPoints + 1)).fill(1) });
    await bad({ id: 'has space' });
    // A stroke longer than maxStrokePoints: the page splits strokes, the server enforces it.
    const full = Array.from({ length: drawLimits.maxSegmentPoints }, (_, i) => [i, i]).flat();
    const mark = a.frames.length;
    const fitting = Math.floor(drawLimits.maxStrokePoints / drawLimits.maxSegmentPoints); // full segments that fit
    for (let n = 0; n < fitting; n++) a.send(seg('long', full));
    await a.sync();
    expect(a.since(mark, { cmd: 'error' })).to.deep.equal([]);
    expect(await bad({ id: 'long', points: full }, 'limit_exceeded')).to.include(`${drawLimits.maxStrokePoints} points`);
    // The segment that ends it still fits.
    a.send(seg('long', [1, 1], { end: true }));
    const commit = await a.waitFor({ cmd: 'commit' });
    expect(pointCount(commit.param.entry.paths[0])).to.equal(fitting * drawLimits.maxSegmentPoints + 1);
  });

  it('clears for everyone, drops strokes in progress, and records the clear', async () => {
    const a = await client('r3', 'ann');
    const b = await client('r3', 'bob');
    a.send(seg('s1', [1, 1, 2, 2], { end: true }));
    await b.waitFor({ cmd: 'commit' });
    b.send(seg('s2', [5, 5, 6, 6])); // in progress
    await a.next({ cmd: 'segment' });
    expect(await reply(a, 'clear')).to.deep.equal({ version: 2 });
    expect((await b.waitFor({ cmd: 'clear' })).param).to.deep.equal({ version: 2, clears: 1, by: 'ann' });
    const s = await reply(b, 'sync');
    expect(s).to.include({ version: 2, clears: 1, clearedBy: 'ann' });
    expect(s.entries).to.deep.equal([]);
    expect(s.live).to.deep.equal([]);
    // Bob's stroke goes on after the clear from its next points only.
    b.send(seg('s2', [7, 7], { end: true }));
    const commit = await a.next({ cmd: 'commit' });
    expect(commit.param).to.deep.include({ version: 3, entry: { color: '#e03131', size: 4, paths: [[7, 7]] } });
  });

  it('relays cursors with names to the others only, throttled, never stored, and removes them when their page goes', async () => {
    const a = await client('r4', 'ann');
    const b = await client('r4', 'bob');
    for (let i = 0; i < 10; i++) a.send({ cmd: 'cursor', param: { x: 100 + i, y: 50.4 } });
    const first = await b.next({ cmd: 'cursor' });
    expect(first.param).to.include({ name: 'ann', x: 100, y: 50 });
    await a.sync();
    await b.sync();
    expect(b.since(0, { cmd: 'cursor' })).to.have.length(1); // 10 in a burst: only the first relayed
    expect(a.since(0, { cmd: 'cursor' })).to.deep.equal([]);
    await new Promise((r) => setTimeout(r, 50));
    a.send({ cmd: 'cursor', param: { x: 300, y: 200 } });
    expect((await b.next({ cmd: 'cursor' })).param).to.include({ x: 300, y: 200 });
    const bad = await a.request('', 'cursor', { x: -5, y: 1 });
    expect(bad.param.code).to.equal('invalid_param');
    a.send({ cmd: 'cursor-out' });
    expect((await b.next({ cmd: 'cursor-gone' })).param).to.deep.equal({ id: first.param.id });
    await a.close();
    await b.next({ cmd: 'cursor-gone' });
    expect((await reply(b, 'sync')).live).to.deep.equal([]);
  });

  it("commits a stroke whose page closes mid-stroke, and keeps rooms apart", async () => {
    const a = await client('r5');
    const b = await client('r5');
    const other = await client('r5-other');
    a.send(seg('s1', [1, 1, 9, 9]));
    await b.next({ cmd: 'segment' });
    a.terminate();
    const commit = await b.next({ cmd: 'commit' });
    expect(commit.param.entry.paths).to.deep.equal([[1, 1, 9, 9]]);
    expect((await reply(b, 'sync')).entries).to.have.length(1);
    expect((await reply(other, 'sync')).entries).to.have.length(0);
    await other.sync();
    expect(other.since(0, (f) => f.cmd === 'segment' || f.cmd === 'commit')).to.deep.equal([]);
  });

  it('keeps a connection to its room: joining another channel is forbidden', async () => {
    const a = await client('r6');
    const f = await a.request('draw:r1', 'join');
    expect(f.cmd).to.equal('error');
    expect(f.param.code).to.equal('forbidden');
  });

  it('compacts a busy canvas: a late joiner gets fewer entries that paint the same strokes', async () => {
    const a = await connect(t.url('/t/draw/socket?room=r7'));
    const r = rng(11);
    const n = drawLimits.compactAtEntries + 1;
    for (let i = 0; i < n; i++) {
      const pts = freehand(r, 400, 250, 60);
      for (let k = 0; k < pts.length; k += 2 * drawLimits.maxSegmentPoints) {
        a.send(seg(`s${i}`, pts.slice(k, k + 2 * drawLimits.maxSegmentPoints), k + 2 * drawLimits.maxSegmentPoints >= pts.length ? { end: true } : {}));
      }
    }
    await a.waitFor((f) => f.cmd === 'commit' && f.param.version === n, 5000);
    const late = await connect(t.url('/t/draw/socket?room=r7'));
    const s = await reply(late, 'sync');
    expect(s.version).to.equal(n);
    expect(s.entries).to.have.length(1); // one style: coalesced into one entry…
    expect(s.entries[0].paths).to.have.length(n); // …that still holds every stroke
    const committed = a.since(0, { cmd: 'commit' }).map((f) => f.param.entry.paths[0] as number[]);
    const sent = committed.reduce((x, p) => x + pointCount(p), 0);
    const kept = s.entries[0].paths.reduce((x: number, p: number[]) => x + pointCount(p), 0);
    expect(kept).to.be.below(sent);
    s.entries[0].paths.forEach((p: number[], i: number) => expect(maxDeviation(committed[i]!, p)).to.be.at.most(drawLimits.epsilon));
  });
});
