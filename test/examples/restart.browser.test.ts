/**
 * Issue 14: the examples across a real restart of `npm start`'s server process (node
 * dist/main.js, the durable store in a temporary DATA_DIR), in Chromium. Open pages reconnect to
 * the restarted process on the same port.
 *
 * 1. With its data kept: the board, the canvas, chat history and rooms, the sheet, the editor's
 *    document and every guest's name and identity are there after it, for the open pages and for
 *    a user who comes later; no page says anything was lost; edits go on.
 * 2. With its data wiped (the directory deleted while it was down): every page says in one line
 *    that the server lost its state and shows the server's (empty) state instead of its own; the
 *    spreadsheet drops its stale cells and its edits are accepted (no conflict against versions
 *    the server no longer has); the editor sends its copy of the document back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { drawLimits } from '../../server/features/draw/canvas';
import { editorText, launchBrowser, screenshot } from '../browser';
import { ServerProcess } from '../server-process';

const root = new URL('../../', import.meta.url).pathname;

describe('examples across a restart of the server process (durable store)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let server: ServerProcess | undefined;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  const dirs: string[] = [];

  before(async () => {
    // dist/main.js and the page scripts.
    execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'ignore' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await server?.stop('SIGKILL');
    server = undefined;
    // Page errors fail the test; console errors do not (a page logs its failed reconnects while the server is down).
    expect(errors.splice(0)).to.deep.equal([]);
  });

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsforge-restart-'));
    dirs.push(dir);
    return dir;
  };
  /** A user: their own browser context (own guest cookie), in which they open pages. */
  async function user(): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    return context;
  }
  async function open(context: BrowserContext, path: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(`${path}: ${err.message}`));
    await page.goto(server!.httpUrl(path));
    return page;
  }
  const connected = (page: Page) => page.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });

  // ---- what each page does and shows ----------------------------------------------------

  async function addCard(page: Page, text: string): Promise<void> {
    await page.locator('.kb-col[data-column="todo"] .kb-add input').fill(text);
    await page.locator('.kb-col[data-column="todo"] .kb-add input').press('Enter');
    await cardShown(page, text);
  }
  const cardShown = (page: Page, text: string) => page.locator('.kb-card .kb-text', { hasText: text }).waitFor({ timeout: 15_000 });
  const cards = (page: Page) => page.locator('.kb-card .kb-text').allTextContents();

  async function drawStroke(page: Page): Promise<void> {
    const box = (await page.locator('#canvas').boundingBox())!;
    const at = (x: number, y: number): [number, number] => [box.x + (x * box.width) / drawLimits.width, box.y + (y * box.height) / drawLimits.height];
    await page.mouse.move(...at(300, 300));
    await page.mouse.down();
    await page.mouse.move(...at(900, 500), { steps: 12 });
    await page.mouse.up();
  }
  const canvasVersion = (page: Page, version: number) => page.locator(`#draw[data-version="${version}"]`).waitFor({ timeout: 15_000 });

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#message-input', text);
    await page.press('#message-input', 'Enter');
    await page.locator('#messages li.msg:not(.system)', { hasText: text }).waitFor();
  }
  const chatMessages = (page: Page) => page.locator('#messages li.msg:not(.system) .msg-text').allTextContents();
  const chatMe = (page: Page) => page.locator('#user-list .chat-user:has(.chat-you)').getAttribute('data-user-id');

  const cell = (page: Page, ref: string) => page.locator(`td[data-ref="${ref}"]`);
  async function typeCell(page: Page, ref: string, text: string): Promise<void> {
    await cell(page, ref).click();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  }
  const cellShows = (page: Page, ref: string, text: string) =>
    page.waitForFunction(([r, t]) => (document.querySelector(`td[data-ref="${r}"] .v`)?.textContent ?? '') === t, [ref, text] as const, { timeout: 15_000 });
  const sheetReady = (page: Page) => page.locator('#sheet[data-ready="true"]').waitFor({ timeout: 15_000 });

  const editorShows = (page: Page, text: string) =>
    page.waitForFunction(
      (want) =>
        [...document.querySelectorAll('.cm-content .cm-line')]
          .map((line) => {
            const copy = line.cloneNode(true) as HTMLElement;
            copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder').forEach((e) => e.remove());
            return copy.textContent ?? '';
          })
          .join('\n') === want,
      text,
      { timeout: 15_000 },
    );

  const lostNotices = (page: Page) => page.locator('#lost-state').count();

  /** Stops the server as Ctrl-C does, waits until `pages` see it, and starts it again on the same port. */
  async function restart(dataDir: string, pages: Page[], wipe = false): Promise<void> {
    const { port } = server!;
    expect(await server!.stop(), 'graceful shutdown exit code').to.equal(0);
    for (const p of pages) await p.locator('#status:not([data-state="connected"]):not([data-state="ok"])').waitFor();
    if (wipe) rmSync(dataDir, { recursive: true, force: true });
    server = await ServerProcess.start({ dataDir, port });
  }

  it('keeps the board, canvas, chat history and rooms, sheet, editor document and guest names', async () => {
    const dataDir = tempDir();
    server = await ServerProcess.start({ dataDir });
    const alice = await user();
    const bob = await user();

    const kanban = await open(alice, '/examples/kanban?room=rs&name=Alice');
    await connected(kanban);
    await addCard(kanban, 'Ship the release');
    await addCard(kanban, 'Write the notes');

    const draw = await open(alice, '/examples/draw?room=rs&name=Alice');
    await connected(draw);
    await drawStroke(draw);
    await canvasVersion(draw, 1);

    const chat = await open(bob, '/examples/chat?room=general&name=Bob');
    await connected(chat);
    await chat.fill('#room-input', 'release');
    await chat.press('#room-input', 'Enter');
    await chat.locator('#room-list [data-room="release"].current').waitFor();
    await connected(chat);
    await say(chat, 'hello before the restart');
    const bobId = await chatMe(chat);
    expect(bobId).to.be.a('string');

    const sheet = await open(bob, '/examples/spreadsheet?room=rs&name=Bob');
    await sheetReady(sheet);
    await typeCell(sheet, 'A1', '42');
    await typeCell(sheet, 'B1', '=A1*2');
    await cellShows(sheet, 'B1', '84');

    const editor = await open(alice, '/examples/editor?room=rs&name=Alice');
    await connected(editor);
    await editor.click('.cm-content');
    await editor.keyboard.type('const answer = 42;');
    // Another page gets it from the server: it is stored.
    const editorCheck = await open(bob, '/examples/editor?room=rs&name=Bob');
    await editorShows(editorCheck, 'const answer = 42;');
    await editorCheck.close();

    await restart(dataDir, [kanban, draw, chat, editor]);

    // The open pages reconnect and show the same state, under the same names and identities.
    for (const p of [kanban, draw, chat, editor]) await connected(p);
    await sheetReady(sheet);
    expect(await cards(kanban)).to.deep.equal(['Ship the release', 'Write the notes']);
    await kanban.locator('#users li.me', { hasText: /^Alice$/ }).waitFor();
    await canvasVersion(draw, 1);
    await draw.locator('#users li', { hasText: 'Alice' }).waitFor();
    await chat.locator('#messages li.msg:not(.system)', { hasText: 'hello before the restart' }).waitFor();
    expect(await chatMe(chat), "Bob's guest id (the cookie's secret was kept)").to.equal(bobId);
    await chat.locator('#room-list [data-room="release"].current').waitFor();
    await cellShows(sheet, 'A1', '42');
    await cellShows(sheet, 'B1', '84');
    await sheet.locator('#people li', { hasText: /^Bob \(you\)/ }).waitFor();
    expect(await editorText(editor)).to.equal('const answer = 42;');
    await editor.locator('#people li', { hasText: 'Alice (you)' }).waitFor();
    for (const p of [kanban, draw, chat, sheet, editor]) expect(await lostNotices(p), 'a lost-state notice').to.equal(0);

    // Edits go on: the sheet's versions are the server's.
    await typeCell(sheet, 'A1', '50');
    await cellShows(sheet, 'B1', '100');
    expect(await sheet.locator('#notice').isHidden()).to.equal(true);
    await addCard(kanban, 'After the restart');

    // Someone who comes now gets all of it.
    const carol = await user();
    const lateKanban = await open(carol, '/examples/kanban?room=rs&name=Carol');
    await cardShown(lateKanban, 'After the restart');
    expect(await cards(lateKanban)).to.deep.equal(['Ship the release', 'Write the notes', 'After the restart']);
    const lateDraw = await open(carol, '/examples/draw?room=rs&name=Carol');
    await canvasVersion(lateDraw, 1);
    expect(await lateDraw.locator('#info').textContent()).to.match(/^Canvas version 1 · 1 entry/);
    const lateChat = await open(carol, '/examples/chat?room=release&name=Carol');
    await lateChat.locator('#messages li.msg:not(.system)', { hasText: 'hello before the restart' }).waitFor();
    expect(await chatMessages(lateChat)).to.deep.equal(['hello before the restart']);
    const lateSheet = await open(carol, '/examples/spreadsheet?room=rs&name=Carol');
    await sheetReady(lateSheet);
    await cellShows(lateSheet, 'A1', '50');
    await cellShows(lateSheet, 'B1', '100');
    const lateEditor = await open(carol, '/examples/editor?room=rs&name=Carol');
    await editorShows(lateEditor, 'const answer = 42;');
    await screenshot(lateKanban, 'restart-kanban-late');
    await screenshot(sheet, 'restart-sheet-after');
  });

  it('after a restart that lost the store: each page says so in one line, drops its stale state, and its edits work', async () => {
    const dataDir = tempDir();
    server = await ServerProcess.start({ dataDir });
    const bob = await user();

    const sheet = await open(bob, '/examples/spreadsheet?room=wipe&name=Bob');
    await sheetReady(sheet);
    await typeCell(sheet, 'A1', '42');
    await typeCell(sheet, 'B1', '=A1*2');
    await cellShows(sheet, 'B1', '84');
    const kanban = await open(bob, '/examples/kanban?room=wipe&name=Bob');
    await connected(kanban);
    await addCard(kanban, 'Lost card');
    const chat = await open(bob, '/examples/chat?room=general&name=Bob');
    await connected(chat);
    await say(chat, 'lost message');
    const draw = await open(bob, '/examples/draw?room=wipe&name=Bob');
    await connected(draw);
    await drawStroke(draw);
    await canvasVersion(draw, 1);
    const editor = await open(bob, '/examples/editor?room=wipe&name=Bob');
    await connected(editor);
    await editor.click('.cm-content');
    await editor.keyboard.type('kept by the page');
    await editor.waitForTimeout(300); // the update (batched for 40 ms) reaches the server

    await restart(dataDir, [kanban, draw, chat, editor], true);

    // The spreadsheet: the notice, the server's (empty) sheet, no stale cells.
    await sheetReady(sheet);
    await cellShows(sheet, 'A1', '');
    await cellShows(sheet, 'B1', '');
    await sheet.locator('#lost-state', { hasText: 'The server lost this sheet' }).waitFor({ timeout: 15_000 });
    await screenshot(sheet, 'restart-sheet-lost');
    // A formula over the lost cell computes from what the server has; editing that cell is accepted.
    await typeCell(sheet, 'C1', '=A1*2');
    await cellShows(sheet, 'C1', '0');
    await typeCell(sheet, 'A1', '7');
    await cellShows(sheet, 'A1', '7');
    await cellShows(sheet, 'C1', '14');
    expect(await sheet.locator('#notice').isHidden(), 'no refused edit').to.equal(true);
    // A late joiner sees exactly what the page shows.
    const carol = await user();
    const late = await open(carol, '/examples/spreadsheet?room=wipe&name=Carol');
    await sheetReady(late);
    await cellShows(late, 'A1', '7');
    await cellShows(late, 'C1', '14');
    await cellShows(late, 'B1', '');
    expect(await lostNotices(late), 'nothing was lost for a page that opens now').to.equal(0);

    // The other pages say it too, and show the server's state, not theirs.
    await connected(kanban);
    await kanban.locator('#lost-state', { hasText: 'The server lost this board' }).waitFor({ timeout: 15_000 });
    expect(await cards(kanban)).to.deep.equal([]);
    await addCard(kanban, 'New card');
    await connected(chat);
    await chat.locator('#lost-state', { hasText: 'The server lost the chat history' }).waitFor({ timeout: 15_000 });
    expect(await chatMessages(chat)).to.deep.equal([]);
    await connected(draw);
    await draw.locator('#lost-state', { hasText: 'The server lost this canvas' }).waitFor({ timeout: 15_000 });
    await canvasVersion(draw, 0);
    // The editor is a CRDT: its copy goes back to the server, and the page says so.
    await connected(editor);
    await editor.locator('#lost-state', { hasText: "this page's copy was sent back to it" }).waitFor({ timeout: 15_000 });
    const lateEditor = await open(carol, '/examples/editor?room=wipe&name=Carol');
    await editorShows(lateEditor, 'kept by the page');
    // One line, dismissable.
    expect(await sheet.locator('#lost-state').count()).to.equal(1);
    await sheet.locator('#lost-state button').click();
    expect(await lostNotices(sheet)).to.equal(0);
  });
});
