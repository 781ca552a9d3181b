/**
 * Base Framework's protocol in Chromium: test/fixtures/base/base-page.html, a minimal page of our
 * own that speaks it as Base's draw, kanban and spreadsheet pages do, served from another local
 * origin (as Base's pages would be) and pointed at wsforge's /api/ws. Two independent contexts
 * and a late joiner see each other's strokes, cards and cells; screenshots in test-artifacts/.
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

const html = readFileSync(new URL('../fixtures/base/base-page.html', import.meta.url), 'utf8');

describe('Base protocol in Chromium: a page of our own, as Base’s pages speak it', function () {
  this.timeout(60_000);
  let t: TestApp;
  let site: Server;
  let siteOrigin: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[][] = [];

  before(async () => {
    t = await startApp();
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)).listen(0, '127.0.0.1');
    await once(site, 'listening');
    siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await closeAll();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    for (const e of errors.splice(0)) expect(e).to.deep.equal([]);
  });

  async function open(nickname: string, rooms: { draw: string; kanban: string; sheet: string }): Promise<Page> {
    const q = new URLSearchParams({ server: t.url('/api/ws'), nickname, ...rooms });
    const opened = await openPage(browser, `${siteOrigin}/?${q}`);
    contexts.push(opened.context);
    errors.push(opened.errors);
    await opened.page.waitForFunction(() => document.getElementById('status')!.textContent === 'open: 3');
    return opened.page;
  }

  /** Alpha of the canvas pixel at (x, y): ink is there when it is not 0. */
  const ink = (page: Page, x: number, y: number) =>
    page.evaluate(([px, py]) => (document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(px!, py!, 1, 1).data[3]!, [x, y]);
  const cardColumn = (page: Page, id: string) => page.evaluate((cardId) => document.getElementById(cardId)?.closest('.column')?.getAttribute('data-column') ?? null, id);
  const cell = (page: Page, id: string) => page.evaluate((cellId) => (document.querySelector(`[data-id="${cellId}"]`) as HTMLInputElement).value, id);

  it('two contexts and a late joiner see each other’s strokes, cards and cells', async () => {
    const tag = Date.now().toString(36);
    const rooms = { draw: `drawing-${tag}`, kanban: `kanban-${tag}`, sheet: `spreadsheet-${tag}` };
    const alice = await open('Alice', rooms);
    const bob = await open('Bob', rooms);

    // Alice draws a stroke with the mouse: Bob's canvas gets it.
    const box = (await alice.locator('#canvas').boundingBox())!;
    await alice.mouse.move(box.x + 100, box.y + 100);
    await alice.mouse.down();
    for (let i = 1; i <= 10; i++) await alice.mouse.move(box.x + 100 + i * 20, box.y + 100 + i * 10);
    await alice.mouse.up();
    await bob.waitForFunction(() => (window as unknown as { drawn: number }).drawn >= 5);
    expect(await ink(bob, 200, 150)).to.be.greaterThan(0);
    expect(await ink(bob, 600, 500)).to.equal(0);

    // Bob adds a card (it appears from the echo, on both boards), Alice drags it to Done.
    await bob.fill('#task-title', '<img src=x onerror="window.pwned=1">Review');
    await bob.fill('#task-description', 'the Base bridge');
    await bob.click('#add-task');
    await alice.waitForSelector('.task');
    await bob.waitForSelector('.task');
    const id = (await alice.locator('.task').getAttribute('id'))!;
    expect(await alice.locator('.task-title').textContent()).to.equal('<img src=x onerror="window.pwned=1">Review'); // text, not HTML
    expect(await alice.locator('.task-assignee').textContent()).to.equal('Added by: Bob');
    await alice.dragAndDrop(`[id="${id}"]`, '[data-column="done"] .tasks');
    await bob.waitForFunction((cardId) => document.getElementById(cardId)?.closest('.column')?.getAttribute('data-column') === 'done', id);

    // Bob types in a cell, Alice types in another: each sees the other's.
    await bob.fill('[data-id="1-2"]', 'hello');
    await alice.fill('[data-id="3-4"]', '42');
    await alice.waitForFunction(() => (document.querySelector('[data-id="1-2"]') as HTMLInputElement).value === 'hello');
    await bob.waitForFunction(() => (document.querySelector('[data-id="3-4"]') as HTMLInputElement).value === '42');

    // Carol joins late: the canvas, the board and the sheet as they are.
    const carol = await open('Carol', rooms);
    await carol.waitForFunction(() => (window as unknown as { drawn: number }).drawn >= 5);
    expect(await ink(carol, 200, 150)).to.be.greaterThan(0);
    await carol.waitForSelector('.task');
    expect(await cardColumn(carol, id)).to.equal('done');
    expect(await cell(carol, '1-2')).to.equal('hello');
    expect(await cell(carol, '3-4')).to.equal('42');
    for (const p of [alice, bob, carol]) expect(await p.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined);
    await screenshot(carol, 'base-page-late-joiner');

    // Carol clears the canvas: everyone's is empty.
    await carol.click('#clear-btn');
    for (const p of [alice, bob]) await p.waitForFunction(() => (document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(200, 150, 1, 1).data[3] === 0);
    await screenshot(alice, 'base-page-after-clear');
  });
});
