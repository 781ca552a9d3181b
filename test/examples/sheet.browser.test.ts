import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { screenshot, usePages } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

describe('spreadsheet page in a browser', function () {
  this.timeout(40_000);
  let t: TestApp;
  const pages = usePages();
  const { contexts, errors } = pages;
  // A fresh app per test: nothing carries over.
  beforeEach(async () => (t = await startApp()));
  afterEach(closeAll);

  /** A user in their own browser context (own guest cookie), the sheet loaded. */
  async function user(room: string, name: string): Promise<Page> {
    const page = await pages.open(t.httpUrl(`/examples/spreadsheet?room=${room}&name=${name}`));
    await page.locator('#sheet[data-ready="true"]').waitFor();
    return page;
  }
  const cell = (page: Page, ref: string) => page.locator(`td[data-ref="${ref}"]`);
  const value = (page: Page, ref: string) => cell(page, ref).locator('.v');
  async function type(page: Page, ref: string, text: string): Promise<void> {
    await cell(page, ref).click();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  }
  async function shows(page: Page, ref: string, text: string): Promise<void> {
    await value(page, ref).filter({ hasText: new RegExp(`^${text.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')}$`) }).waitFor({ timeout: 5000 });
  }

  it('formulas computed for everyone, dependents follow edits, presence shows, a late third user sees it all', async () => {
    const alice = await user('b1', 'Alice');
    const bob = await user('b1', 'Bob');
    expect(await cell(alice, 'Z100').count()).to.equal(1); // 26 × 100

    // Alice types a number and a formula reading it: both see the computed value.
    await type(alice, 'B1', '21');
    await type(alice, 'A1', '=B1*2');
    for (const p of [alice, bob]) await shows(p, 'A1', '42');
    await type(alice, 'A2', '=SUM(A1:B1)');
    await type(alice, 'A3', '=AVG(A1:B1) / 0');
    for (const p of [alice, bob]) {
      await shows(p, 'A2', '63');
      await shows(p, 'A3', '#DIV/0!');
    }

    // Bob changes the referenced cell: the dependents update in both pages.
    await type(bob, 'B1', '50');
    for (const p of [alice, bob]) {
      await shows(p, 'A1', '100');
      await shows(p, 'A2', '150');
    }
    // The formula bar shows the raw input of the selected cell.
    await cell(bob, 'A1').click();
    expect(await bob.inputValue('#formula')).to.equal('=B1*2');
    expect(await bob.textContent('#name-box')).to.equal('A1');

    // Presence: Alice selects C3; Bob sees an outline with her name there. Moving clears it.
    await cell(alice, 'C3').click();
    await bob.locator('td[data-ref="C3"].remote .tag', { hasText: 'Alice' }).waitFor();
    await cell(alice, 'D4').click();
    await bob.locator('td[data-ref="D4"].remote .tag', { hasText: 'Alice' }).waitFor();
    expect(await cell(bob, 'C3').getAttribute('class')).to.not.match(/remote/);
    await alice.locator('td[data-ref="A1"].remote .tag', { hasText: 'Bob' }).waitFor();
    await screenshot(alice, 'sheet-alice');

    // A third user, later: the sheet (inputs and values) and where the others are.
    const carol = await user('b1', 'Carol');
    await shows(carol, 'A1', '100');
    await shows(carol, 'B1', '50');
    await shows(carol, 'A2', '150');
    await shows(carol, 'A3', '#DIV/0!');
    await carol.locator('td[data-ref="D4"].remote .tag', { hasText: 'Alice' }).waitFor();
    await carol.locator('td[data-ref="A1"].remote .tag', { hasText: 'Bob' }).waitFor();
    await cell(carol, 'A2').click();
    expect(await carol.inputValue('#formula')).to.equal('=SUM(A1:B1)');
    expect(await carol.locator('#people li').allTextContents()).to.have.members(['Carol (you) · A2', 'Alice · D4', 'Bob · A1']);
    await screenshot(carol, 'sheet-carol-late');

    // Bob leaves: his outline disappears for the others.
    await contexts[1]!.close();
    await carol.waitForFunction(() => !document.querySelector('td[data-ref="A1"]')!.classList.contains('remote'));
    await alice.waitForFunction(() => !document.querySelector('td[data-ref="A1"]')!.classList.contains('remote'));
  });

  it('cycles and bad formulas show error values for everyone and recover; text is rendered as text', async () => {
    const alice = await user('b2', 'Alice');
    const bob = await user('b2', 'Bob');
    await type(alice, 'A1', '=B1+1');
    await type(bob, 'B1', '=A1*2');
    for (const p of [alice, bob]) {
      await shows(p, 'A1', '#CYCLE!');
      await shows(p, 'B1', '#CYCLE!');
    }
    await type(alice, 'C1', '=1+');
    await type(alice, 'C2', '=AA1');
    await type(alice, 'C3', '<img src=x onerror="document.title=1">');
    for (const p of [alice, bob]) {
      await shows(p, 'C1', '#ERROR!');
      await shows(p, 'C2', '#REF!');
      await shows(p, 'C3', '<img src=x onerror="document.title=1">');
      expect(await p.locator('#grid img').count()).to.equal(0);
    }
    // Breaking the cycle recomputes both cells.
    await type(bob, 'B1', '5');
    for (const p of [alice, bob]) {
      await shows(p, 'A1', '6');
      await shows(p, 'B1', '5');
    }
    expect(await cell(bob, 'A1').getAttribute('class')).to.not.match(/\berr\b/);
    await screenshot(bob, 'sheet-errors');
  });

  it('an edit that lost the race is refused, shows their value and keeps the typed text in the cell to apply again or drop', async () => {
    const alice = await user('b3', 'Alice');
    const bob = await user('b3', 'Bob');
    await type(alice, 'E1', 'first');
    await shows(bob, 'E1', 'first');
    // Bob starts editing E1 (version 1)…
    await cell(bob, 'E1').click();
    await bob.keyboard.type('mine');
    // …Alice changes it meanwhile (version 2)…
    await type(alice, 'E1', 'theirs');
    await shows(bob, 'E1', 'theirs');
    // …so Bob's commit is refused: he is told what E1 holds now, everyone keeps Alice's value, and
    // his text is back in the cell's editor, not thrown away.
    await bob.keyboard.press('Enter');
    await bob.locator('#notice', { hasText: 'Alice changed E1 to "theirs" before your edit, which was not saved. Your text is back in the cell' }).waitFor();
    const editor = cell(bob, 'E1').locator('.cell-editor');
    expect(await editor.inputValue()).to.equal('mine');
    expect(await bob.inputValue('#formula')).to.equal('mine');
    expect(await bob.evaluate(() => document.activeElement?.className)).to.equal('cell-editor');
    await shows(bob, 'E1', 'theirs');
    await shows(alice, 'E1', 'theirs');
    await screenshot(bob, 'sheet-conflict');
    // Enter now applies it over Alice's value, on purpose.
    await bob.keyboard.press('Enter');
    await shows(alice, 'E1', 'mine');
    await shows(bob, 'E1', 'mine');

    // Once more, and this time Bob drops his text with Esc: Alice's value stays.
    await cell(bob, 'E1').click();
    await bob.keyboard.type('again');
    await type(alice, 'E1', 'final');
    await shows(bob, 'E1', 'final');
    await bob.keyboard.press('Enter');
    await editor.waitFor();
    expect(await editor.inputValue()).to.equal('again');
    await bob.keyboard.press('Escape');
    await editor.waitFor({ state: 'detached' });
    await shows(alice, 'E1', 'final');
    await shows(bob, 'E1', 'final');
  });

  it('clearing a cell offers Undo, and the others are told who cleared what', async () => {
    const alice = await user('b5', 'Alice');
    const bob = await user('b5', 'Bob');
    await type(alice, 'A1', '42');
    await type(alice, 'B1', '=A1+1');
    await shows(bob, 'B1', '43');
    await cell(bob, 'A1').click();
    await bob.keyboard.press('Delete');
    for (const p of [alice, bob]) await shows(p, 'B1', '1');
    await alice.locator('#notice', { hasText: 'Bob cleared A1 (it held "42").' }).waitFor();
    const notice = bob.locator('#notice', { hasText: 'Cleared A1 (it held "42").' });
    await notice.waitFor();
    await screenshot(bob, 'sheet-cleared');
    await notice.locator('button', { hasText: 'Undo' }).click();
    for (const p of [alice, bob]) {
      await shows(p, 'A1', '42');
      await shows(p, 'B1', '43');
    }
  });

  it('re-syncs after a reconnect: changes made while away arrive', async () => {
    const alice = await user('b4', 'Alice');
    await type(alice, 'A1', '7');
    // Alice goes offline (her reconnects fail) and the server drops her connection.
    await contexts[0]!.setOffline(true);
    const [conn] = t.app.sockets!.getConnectionsByChannel('sheet:b4');
    t.app.sockets!.disconnect(conn!.id, 1012, 'restart');
    await alice.locator('#status', { hasText: /reconnecting/ }).waitFor();
    const bob = await user('b4', 'Bob');
    await type(bob, 'A2', '=A1*6');
    await type(bob, 'A1', '8');
    await shows(bob, 'A2', '48');
    expect(await value(alice, 'A2').textContent()).to.equal('');
    await contexts[0]!.setOffline(false);
    await alice.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 15_000 });
    await shows(alice, 'A1', '8');
    await shows(alice, 'A2', '48');
    // Chromium logs each refused reconnect while offline: expected here, and only those.
    const offline = errors[0]!.splice(0).filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e));
    expect(offline).to.deep.equal([]);
  });
});
