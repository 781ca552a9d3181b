import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { Board } from '../../server/features/kanban/board';
import { artifactsDir, launchBrowser, openPage, openSwitchedPage, screenshot } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

/** What a page shows: card texts per column, read from the DOM. */
const shown = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>('.kb-col')].map((col) => [
        col.dataset.column!,
        [...col.querySelectorAll<HTMLElement>('.kb-card')].map((c) => c.querySelector('.kb-text')?.textContent ?? `(editing ${c.dataset.id})`),
      ]),
    ),
  );
const card = (page: Page, text: string) => page.locator('.kb-card', { has: page.locator('.kb-text', { hasText: text }) });
const column = (page: Page, id: string) => page.locator(`.kb-col[data-column="${id}"]`);

describe('kanban page in a browser', function () {
  this.timeout(40_000);
  let t: TestApp;
  let browser: Browser;
  const pages: Array<{ page: Page; errors: string[]; close(): Promise<void> }> = [];
  const open = async (room: string, name: string) => {
    const { context, page, errors } = await openPage(browser, t.httpUrl(`/examples/kanban?room=${room}&name=${name}`));
    pages.push({ page, errors, close: () => context.close() });
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('.kb-col[data-column="done"]').waitFor();
    return page;
  };
  /** Waits until every page shows `expected`. */
  const allShow = async (expected: Record<string, string[]>, ...ps: Page[]) => {
    for (const p of ps) {
      await p.waitForFunction(
        (want) => {
          const got = Object.fromEntries(
            [...document.querySelectorAll<HTMLElement>('.kb-col')].map((col) => [
              col.dataset.column!,
              [...col.querySelectorAll<HTMLElement>('.kb-card .kb-text')].map((c) => c.textContent),
            ]),
          );
          return JSON.stringify(got) === JSON.stringify(want);
        },
        expected,
        { timeout: 5000 },
      ).catch(async (e) => {
        throw new Error(`page shows ${JSON.stringify(await shown(p))}, expected ${JSON.stringify(expected)}: ${(e as Error).message}`);
      });
    }
  };

  /** A page (own context) whose WebSocket connections go through a switch: while `outage.on`, every (re)connect fails. */
  const openSwitched = async (room: string, name: string) => {
    const { context, page, errors, outage } = await openSwitchedPage(browser, t.httpUrl(`/examples/kanban?room=${room}&name=${name}`));
    pages.push({ page, errors, close: () => context.close() });
    await page.locator('#status[data-state="connected"]').waitFor();
    return { page, outage };
  };

  before(async () => {
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    t = await startApp();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const p of pages) expect(p.errors, 'page errors').to.deep.equal([]);
    await browser?.close();
    await closeAll();
  });

  it('add, drag and drop, keyboard moves, edit and delete in A appear in B; a late C gets the board', async () => {
    const a = await open('team', 'Ann');
    const b = await open('team', 'Bob');
    await b.locator('#users li', { hasText: 'Ann' }).waitFor();

    // Add: A adds three cards, B adds one; the text is shown as text, never as HTML.
    for (const text of ['Write the docs', 'Fix the login bug', '<img src=x onerror=alert(1)>']) {
      await column(a, 'todo').locator('.kb-add input').fill(text);
      await column(a, 'todo').locator('.kb-add input').press('Enter');
      await card(a, text).waitFor();
    }
    await column(b, 'doing').locator('.kb-add input').fill('Review PR #12');
    await column(b, 'doing').locator('.kb-add button').click();
    const afterAdd = { todo: ['Write the docs', 'Fix the login bug', '<img src=x onerror=alert(1)>'], doing: ['Review PR #12'], done: [] };
    await allShow(afterAdd, a, b);
    expect(await b.locator('.kb-board img').count()).to.equal(0);

    // Drag and drop in A: "Fix the login bug" onto Done, then "Write the docs" above "Review PR #12".
    await card(a, 'Fix the login bug').dragTo(column(a, 'done').locator('.kb-cards'));
    await allShow({ todo: ['Write the docs', '<img src=x onerror=alert(1)>'], doing: ['Review PR #12'], done: ['Fix the login bug'] }, a, b);
    await card(a, 'Write the docs').dragTo(card(a, 'Review PR #12'), { targetPosition: { x: 20, y: 3 } });
    await allShow({ todo: ['<img src=x onerror=alert(1)>'], doing: ['Write the docs', 'Review PR #12'], done: ['Fix the login bug'] }, a, b);

    // Keyboard in B: Alt+→ moves a card to the next column, Alt+↑ moves it up.
    await card(b, 'Review PR #12').focus();
    await b.keyboard.press('Alt+ArrowRight');
    await allShow({ todo: ['<img src=x onerror=alert(1)>'], doing: ['Write the docs'], done: ['Fix the login bug', 'Review PR #12'] }, a, b);
    await expect(await b.evaluate(() => (document.activeElement as HTMLElement).querySelector('.kb-text')?.textContent)).to.equal('Review PR #12');
    await b.keyboard.press('Alt+ArrowUp');
    await allShow({ todo: ['<img src=x onerror=alert(1)>'], doing: ['Write the docs'], done: ['Review PR #12', 'Fix the login bug'] }, a, b);
    // And the buttons: ← on "Fix the login bug".
    await card(b, 'Fix the login bug').locator('[data-act="left"]').click();
    await allShow({ todo: ['<img src=x onerror=alert(1)>'], doing: ['Write the docs', 'Fix the login bug'], done: ['Review PR #12'] }, a, b);

    // Edit in B: shows in A with the editor's name and the new version.
    await card(b, 'Write the docs').locator('[data-act="edit"]').click();
    await b.locator('.kb-card.editing textarea').fill('Write the docs (examples page)');
    await b.locator('.kb-card.editing textarea').press('Enter');
    await allShow({ todo: ['<img src=x onerror=alert(1)>'], doing: ['Write the docs (examples page)', 'Fix the login bug'], done: ['Review PR #12'] }, a, b);
    expect(await card(a, 'Write the docs (examples page)').locator('.kb-who').textContent()).to.equal('edited by Bob · v2');

    // Delete in A (confirmed).
    await card(a, '<img src=x').locator('[data-act="delete"]').click();
    await card(a, '<img src=x').locator('[data-act="confirm-delete"]').click();
    const final = { todo: [], doing: ['Write the docs (examples page)', 'Fix the login bug'], done: ['Review PR #12'] };
    await allShow(final, a, b);
    await screenshot(a, 'kanban-a');

    // C opens later: the same board, same version.
    const c = await open('team', 'Cid');
    await allShow(final, c);
    const versions = await Promise.all([a, b, c].map((p) => p.locator('#kanban').getAttribute('data-version')));
    expect(new Set(versions).size, versions.join()).to.equal(1);
    expect(await t.app.store.get<Board>('kanban:team:board').then((x) => x!.version)).to.equal(Number(versions[0]));
    await screenshot(c, 'kanban-c-late-joiner');
  });

  it('an edit that lost the race keeps the text, says who changed the card, and a second save applies it', async () => {
    const a = await open('race', 'Ann');
    const b = await open('race', 'Bob');
    await column(a, 'todo').locator('.kb-add input').fill('Plan the release');
    await column(a, 'todo').locator('.kb-add input').press('Enter');
    await allShow({ todo: ['Plan the release'], doing: [], done: [] }, a, b);
    // Both open the editor on version 1; Bob saves first.
    await card(a, 'Plan the release').locator('[data-act="edit"]').click();
    await card(b, 'Plan the release').locator('[data-act="edit"]').click();
    await a.locator('.kb-card.editing textarea').fill('Plan the release with QA');
    await b.locator('.kb-card.editing textarea').fill('Plan the 1.0 release');
    await b.locator('.kb-card.editing textarea').press('Enter');
    // Bob's edit reaches Ann's page while she is typing: her editor, text and focus stay.
    await a.waitForFunction(() => document.getElementById('kanban')!.dataset.version === '2');
    expect(await a.locator('.kb-card.editing textarea').inputValue()).to.equal('Plan the release with QA');
    expect(await a.evaluate(() => document.activeElement?.tagName)).to.equal('TEXTAREA');
    await a.locator('.kb-card.editing button', { hasText: 'Save' }).click();
    await a.locator('.kb-conflict', { hasText: 'Bob changed this card while you were editing' }).waitFor();
    expect(await a.locator('.kb-theirs').textContent()).to.equal('Plan the 1.0 release');
    expect(await a.locator('.kb-card.editing textarea').inputValue()).to.equal('Plan the release with QA');
    await screenshot(a, 'kanban-conflict');
    await a.locator('.kb-card.editing button', { hasText: 'Save' }).click();
    await allShow({ todo: ['Plan the release with QA'], doing: [], done: [] }, a, b);
  });

  it('delete asks first, can be undone through the server for everyone, and the others are told who deleted what', async () => {
    const a = await open('undo', 'Ann');
    const b = await open('undo', 'Bob');
    a.on('dialog', (d) => void d.dismiss().then(() => expect.fail(`unexpected ${d.type()} dialog`)));
    for (const text of ['First', 'Second', 'Third']) {
      await column(a, 'todo').locator('.kb-add input').fill(text);
      await column(a, 'todo').locator('.kb-add input').press('Enter');
      await card(a, text).waitFor();
    }
    const all = { todo: ['First', 'Second', 'Third'], doing: [], done: [] };
    await allShow(all, a, b);
    const version = await a.locator('#kanban').getAttribute('data-version');

    // ✕ asks in the card; Cancel keeps it, and nothing was sent.
    await card(a, 'Second').locator('[data-act="delete"]').click();
    const ask = card(a, 'Second').locator('.kb-confirm');
    await ask.waitFor();
    expect(await ask.textContent()).to.equal('Delete this card?DeleteCancel');
    await screenshot(a, 'kanban-confirm-delete');
    await ask.locator('button', { hasText: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    // The Delete key asks too; Escape keeps the card.
    await card(a, 'Second').focus();
    await a.keyboard.press('Delete');
    await ask.waitFor();
    expect(await a.evaluate(() => document.activeElement?.textContent)).to.equal('Delete'); // focus on the confirmation
    await a.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached' });
    await allShow(all, a, b);
    expect(await a.locator('#kanban').getAttribute('data-version')).to.equal(version);

    // Confirmed with the keyboard: gone for both; Bob is told, Ann gets Undo.
    await card(a, 'Second').focus();
    await a.keyboard.press('Delete');
    await a.keyboard.press('Enter');
    const without = { todo: ['First', 'Third'], doing: [], done: [] };
    await allShow(without, a, b);
    await b.locator('#notice', { hasText: 'Ann deleted "Second".' }).waitFor();
    const notice = a.locator('#notice', { hasText: 'Deleted "Second".' });
    await notice.waitFor();
    await screenshot(b, 'kanban-deleted-notice');

    // Undo: the card is back, where it was and as it was, on both pages and in the store.
    await notice.locator('button', { hasText: 'Undo' }).click();
    await allShow(all, a, b);
    await b.locator('#notice', { hasText: 'Ann restored "Second".' }).waitFor();
    await a.locator('#notice', { hasText: 'Restored "Second".' }).waitFor();
    expect(await card(b, 'Second').locator('.kb-who').textContent()).to.equal('added by Ann · v1');
    const stored = (await t.app.store.get<Board>('kanban:undo:board'))!;
    expect(stored.columns[0]!.cards.map((id) => stored.cards[id]!.text)).to.deep.equal(all.todo);
  });

  it('card buttons are always visible at 4.5:1 contrast, and 44x44 px targets on a touch screen', async () => {
    /** Each card button: size, opacity (own and inherited) and contrast with the card, read from the page. */
    const buttons = (page: Page) =>
      // No named functions inside: the test runner's transpiler would wrap them in a helper the page lacks.
      page.locator('.kb-card .kb-btn').evaluateAll((bs) =>
        bs.map((b) => {
          let opacity = 1;
          for (let e: Element | null = b; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
          const [fg, bg] = [getComputedStyle(b).color, getComputedStyle(b.closest('.kb-card')!).backgroundColor].map((rgb) => {
            const [r, g, bl] = rgb.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
            return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
          }) as [number, number];
          const r = b.getBoundingClientRect();
          return { width: r.width, height: r.height, opacity, contrast: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05) };
        }),
      );
    const desk = await open('touch', 'Ann');
    await column(desk, 'todo').locator('.kb-add input').fill('Tap me');
    await column(desk, 'todo').locator('.kb-add input').press('Enter');
    await card(desk, 'Tap me').waitFor();
    await desk.mouse.move(1, 1); // nothing hovered
    for (const b of await buttons(desk)) {
      expect(b.opacity).to.equal(1);
      expect(b.contrast).to.be.at.least(4.5);
    }

    // A phone: no hover, a coarse pointer.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const phone = await context.newPage();
    const errors: string[] = [];
    phone.on('pageerror', (e) => errors.push(e.message));
    pages.push({ page: phone, errors, close: () => context.close() });
    await phone.goto(t.httpUrl('/examples/kanban?room=touch&name=Bob'));
    await card(phone, 'Tap me').waitFor();
    expect(await phone.evaluate(() => matchMedia('(hover: none)').matches)).to.equal(true);
    const found = await buttons(phone);
    expect(found).to.have.length(6);
    for (const b of found) {
      expect(b.width).to.be.at.least(44);
      expect(b.height).to.be.at.least(44);
      expect(b.opacity).to.equal(1);
      expect(b.contrast).to.be.at.least(4.5);
    }
    // The first screen only: a full-page capture re-lays the page out without touch emulation (hover again).
    await phone.screenshot({ path: `${artifactsDir}kanban-phone.png` });
    // A tap asks, a tap deletes.
    await card(phone, 'Tap me').locator('[data-act="delete"]').tap();
    const confirm = card(phone, 'Tap me').locator('[data-act="confirm-delete"]');
    const box = (await confirm.boundingBox())!;
    expect(Math.min(box.width, box.height)).to.be.at.least(44);
    await confirm.tap();
    await allShow({ todo: [], doing: [], done: [] }, phone, desk);
    await desk.locator('#notice', { hasText: 'Bob deleted "Tap me".' }).waitFor();
  });

  it('a page cut off from the server shows it, reconnects, and re-syncs the changes it missed', async () => {
    const { page: a, outage } = await openSwitched('outage', 'Ann');
    const b = await open('outage', 'Bob');
    await column(b, 'todo').locator('.kb-add input').fill('Before the outage');
    await column(b, 'todo').locator('.kb-add input').press('Enter');
    await allShow({ todo: ['Before the outage'], doing: [], done: [] }, a, b);
    // Hold A's reconnects until B has changed the board.
    outage.on = true;
    const [conn] = t.app.sockets!.getConnectionsByChannel('kanban:outage').filter((c) => c.profile.name === 'Ann');
    t.app.sockets!.disconnect(conn!.id, 1012, 'restarting');
    await a.locator('#status[data-state="reconnecting"]').waitFor();
    await column(b, 'doing').locator('.kb-add input').fill('During the outage');
    await column(b, 'doing').locator('.kb-add input').press('Enter');
    await card(b, 'Before the outage').locator('[data-act="right"]').click();
    const after = { todo: [], doing: ['Before the outage', 'During the outage'], done: [] };
    await allShow(after, b);
    expect((await shown(a)).doing).to.deep.equal([]); // A missed it
    outage.on = false;
    await a.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    await allShow(after, a);
  });

  it('a board above the presence list limit shows how many are here, and names again once it is small enough', async () => {
    // Names in presence-diff up to one user: a second makes the pages show the count.
    const crowded = await startApp({ socket: { presenceListMax: 1, presenceIntervalMs: 20 } });
    const openOn = async (name: string) => {
      const { context, page, errors } = await openPage(browser, crowded.httpUrl(`/examples/kanban?room=crowd&name=${name}`));
      const entry = { page, errors, close: () => context.close() };
      pages.push(entry);
      await page.locator('#status[data-state="connected"]').waitFor();
      return entry;
    };
    const users = (p: Page) => p.locator('#users li').allTextContents();
    const { page: a } = await openOn('Ann');
    await a.locator('#users li', { hasText: 'Ann' }).waitFor();
    const b = await openOn('Bob');
    for (const p of [a, b.page]) {
      await p.locator('#users li', { hasText: '2 users' }).waitFor();
      expect(await users(p)).to.deep.equal(['2 users']);
    }
    await b.close();
    // Back to one: the diff names Bob leaving, and the page fetches the whole list again.
    await a.locator('#users li', { hasText: 'Ann' }).waitFor();
    expect(await users(a)).to.deep.equal(['Ann']);
  });
});
