import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { drawLimits } from '../../server/features/draw/canvas';
import { createDrawFeature } from '../../server/features/draw/routes';
import { launchBrowser, openPage, openSwitchedPage, screenshot } from '../browser';
import { closeAll, connect, startApp, type TestApp } from '../helpers';

/** Canvas pixels, read in the page: RGBA at canvas-space points, or a summary of the whole canvas. */
const pixelAt = (page: Page, x: number, y: number) =>
  page.evaluate(([x, y]) => Array.from((document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(x!, y!, 1, 1).data), [x, y]);
/** Every RGBA byte of the canvas (moved out of the page as base64: far faster than a number array). */
const allPixels = async (page: Page) =>
  Buffer.from(
    await page.evaluate(() => {
      const c = document.getElementById('canvas') as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let bin = '';
      for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return btoa(bin);
    }),
    'base64',
  );
const isRed = (p: number[]) => p[0]! > 200 && p[1]! < 80 && p[2]! < 80;
const isWhite = (p: number[]) => p[0]! > 250 && p[1]! > 250 && p[2]! > 250;

/** Screen position of a canvas-space point. */
async function screenOf(page: Page, x: number, y: number): Promise<[number, number]> {
  const box = (await page.locator('#canvas').boundingBox())!;
  return [box.x + (x * box.width) / drawLimits.width, box.y + (y * box.height) / drawLimits.height];
}

describe('draw page in a browser', function () {
  this.timeout(40_000);
  let t: TestApp;
  let browser: Browser;
  const pages: Array<{ page: Page; errors: string[]; close(): Promise<void> }> = [];
  const open = async (room: string, name: string, path = '/examples/draw') => {
    const { context, page, errors } = await openPage(browser, t.httpUrl(`${path}?room=${room}&name=${name}`));
    const entry = { page, errors, close: () => context.close() };
    pages.push(entry);
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.waitForFunction(() => document.getElementById('draw')!.dataset.version !== undefined);
    return page;
  };

  /** A page (own context) whose WebSocket connections go through a switch: while `outage.on`, every (re)connect fails. */
  const openSwitched = async (room: string, name: string) => {
    const { context, page, errors, outage } = await openSwitchedPage(browser, t.httpUrl(`/examples/draw?room=${room}&name=${name}`));
    pages.push({ page, errors, close: () => context.close() });
    await page.locator('#status[data-state="connected"]').waitFor();
    return { page, outage };
  };

  before(async () => {
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    // A second whiteboard at /t/draw without a practical frame rate limit, for the bulk drawing.
    t = await startApp({ features: [createDrawFeature({ path: '/t/draw', rateLimit: { perSecond: 1e6, burst: 1e6 } })] });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const p of pages) expect(p.errors, 'page errors').to.deep.equal([]);
    await browser?.close();
    await closeAll();
  });

  it('a stroke drawn with the mouse in A appears live on B, a late C gets it, clear empties all, cursors come and go', async () => {
    const a = await open('board-1', 'Ann');
    const b = await open('board-1', 'Bob');
    await a.locator('.swatch[data-color="#e03131"]').click();
    await a.locator('.size-btn[data-size="12"]').click();

    // A draws from (300, 300) to (900, 500) in canvas space, slowly enough to stream segments.
    await a.mouse.move(...(await screenOf(a, 300, 300)));
    await a.mouse.down();
    await a.mouse.move(...(await screenOf(a, 600, 400)), { steps: 15 });
    // Live: B sees the first half while A's button is still down.
    await b.waitForFunction(() => {
      const d = (document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(450, 350, 1, 1).data;
      return d[0]! > 200 && d[1]! < 80;
    });
    expect(isRed(await pixelAt(b, 900, 500))).to.equal(false);
    await a.mouse.move(...(await screenOf(a, 900, 500)), { steps: 15 });
    await a.mouse.up();
    await b.waitForFunction(() => Number(document.getElementById('draw')!.dataset.version) === 1);
    for (const p of [a, b]) {
      expect(isRed(await pixelAt(p, 450, 350)), 'midway').to.equal(true);
      expect(isRed(await pixelAt(p, 895, 498)), 'near the end').to.equal(true);
      expect(isWhite(await pixelAt(p, 300, 600)), 'away from the stroke').to.equal(true);
    }
    // B sees A's cursor with A's name.
    await b.locator('#cursors .cursor span', { hasText: 'Ann' }).waitFor();
    await b.locator('#users li', { hasText: 'Ann' }).waitFor();
    await screenshot(b, 'draw-b-after-stroke');

    // C opens later and gets the canvas: pixel for pixel what A and B show.
    const c = await open('board-1', 'Cid');
    await c.waitForFunction(() => document.getElementById('draw')!.dataset.version === '1');
    expect(isRed(await pixelAt(c, 450, 350))).to.equal(true);
    const [pa, pb, pc] = [await allPixels(a), await allPixels(b), await allPixels(c)];
    expect(pc.length).to.equal(drawLimits.width * drawLimits.height * 4);
    expect(pb.equals(pa), "B's canvas is A's").to.equal(true);
    expect(pc.equals(pa), "C's canvas is A's").to.equal(true);
    await screenshot(c, 'draw-c-late-joiner');

    // B's cursor shows on C; it goes when B's page closes.
    await b.mouse.move(...(await screenOf(b, 1200, 200)));
    await b.mouse.move(...(await screenOf(b, 1210, 210)), { steps: 3 });
    await c.locator('#cursors .cursor span', { hasText: 'Bob' }).waitFor();
    await pages[1]!.close();
    await c.locator('#cursors .cursor span', { hasText: 'Bob' }).waitFor({ state: 'detached' });
    await c.locator('#users li', { hasText: 'Bob' }).waitFor({ state: 'detached' });

    // C clears for everyone (after confirming).
    c.once('dialog', (d) => void d.accept());
    await c.locator('#clear').click();
    for (const p of [a, c]) {
      await p.waitForFunction(() => document.getElementById('draw')!.dataset.version === '2');
      expect(isWhite(await pixelAt(p, 450, 350)), 'cleared').to.equal(true);
    }
    expect(await a.locator('#info').textContent()).to.include('last cleared by Cid');
  });

  it('a late joiner after compaction sees the same picture as a page that watched every stroke', async () => {
    const watcher = await open('board-2', 'Watcher', '/t/draw');
    // A ws client draws past the compaction threshold.
    const ws = await connect(t.url('/t/draw/socket?room=board-2'));
    const n = drawLimits.compactAtEntries + 20;
    const colours = ['#e03131', '#1c7ed6', '#2f9e44'];
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < n; i++) {
      let x = 100 + rand() * 1400;
      let y = 100 + rand() * 800;
      let angle = rand() * 6.28;
      const pts: number[] = [];
      for (let k = 0; k < 60; k++) {
        angle += (rand() - 0.5) * 0.6;
        x = Math.min(1590, Math.max(10, x + Math.cos(angle) * 3));
        y = Math.min(990, Math.max(10, y + Math.sin(angle) * 3));
        pts.push(Math.round(x), Math.round(y));
      }
      ws.send({ cmd: 'segment', param: { id: `s${i}`, color: colours[Math.floor(i / 5) % 3], size: [2, 5, 12][Math.floor(i / 15) % 3], points: pts, end: true } });
    }
    await watcher.waitForFunction((n) => Number(document.getElementById('draw')!.dataset.version) === n, n, { timeout: 10_000 });
    const late = await open('board-2', 'Late', '/t/draw');
    expect(await late.locator('#info').textContent()).to.match(new RegExp(`^Canvas version ${n} · \\d+ entries`));
    const entries = Number(/· (\d+) entries/.exec((await late.locator('#info').textContent())!)![1]);
    expect(entries).to.be.below(n); // compacted
    const [pw, pl] = [await allPixels(watcher), await allPixels(late)];
    let inked = 0;
    let visible = 0;
    for (let i = 0; i < pw.length; i += 4) {
      if (pw[i] !== 255 || pw[i + 1] !== 255 || pw[i + 2] !== 255) inked++;
      const d = Math.max(Math.abs(pw[i]! - pl[i]!), Math.abs(pw[i + 1]! - pl[i + 1]!), Math.abs(pw[i + 2]! - pl[i + 2]!));
      if (d > 64) visible++; // a quarter of the range: anything less is antialiasing shade
    }
    expect(inked).to.be.above(50_000);
    expect(visible / inked).to.be.below(0.002);
    await screenshot(late, 'draw-late-after-compaction');
  });

  it('a page cut off from the server shows it, reconnects, and gets the strokes it missed', async () => {
    const { page: a, outage } = await openSwitched('board-3', 'Ann');
    const b = await open('board-3', 'Bob');
    outage.on = true;
    const [conn] = t.app.sockets!.getConnectionsByChannel('draw:board-3').filter((c) => c.profile.name === 'Ann');
    t.app.sockets!.disconnect(conn!.id, 1012, 'restarting');
    await a.locator('#status[data-state="reconnecting"]').waitFor();
    await b.locator('.swatch[data-color="#e03131"]').click();
    await b.locator('.size-btn[data-size="28"]').click();
    await b.mouse.move(...(await screenOf(b, 200, 800)));
    await b.mouse.down();
    await b.mouse.move(...(await screenOf(b, 1400, 800)), { steps: 10 });
    await b.mouse.up();
    await b.waitForFunction(() => document.getElementById('draw')!.dataset.version === '1');
    expect(isRed(await pixelAt(a, 800, 800)), 'A missed it').to.equal(false);
    outage.on = false;
    await a.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    await a.waitForFunction(() => document.getElementById('draw')!.dataset.version === '1');
    expect(isRed(await pixelAt(a, 800, 800))).to.equal(true);
    expect((await allPixels(a)).equals(await allPixels(b)), "A's canvas is B's").to.equal(true);
  });
});
