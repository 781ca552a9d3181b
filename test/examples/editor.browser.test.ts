import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { textOf, stateOf, type StoredDoc } from '../../server/features/editor/document';
import { docKey } from '../../server/features/editor/handler';
import { editorText, screenshot, usePages, watchStatus } from '../browser';
import { closeAll, eventually, startApp, type TestApp } from '../helpers';

/** The computed colour of the first token with exactly this text. */
function tokenColor(page: Page, token: string): Promise<string | undefined> {
  return page.evaluate((token) => {
    const span = [...document.querySelectorAll('.cm-content .cm-line span')].find((s) => s.textContent === token);
    return span ? getComputedStyle(span).color : undefined;
  }, token);
}

describe('editor page in a browser', function () {
  this.timeout(45_000);
  let t: TestApp;
  const pages = usePages();
  const { contexts } = pages;
  before(async () => (t = await startApp()));
  after(closeAll);

  async function open(room: string, name: string): Promise<Page> {
    const page = await pages.open(t.httpUrl(`/examples/editor?room=${room}&name=${name}`));
    await page.locator('#status[data-state="connected"]').waitFor();
    return page;
  }

  const stored = async (room: string) => textOf(stateOf(await t.app.store.get<StoredDoc>(docKey(room))));

  it('two people typing at the same time converge; cursors, names and the language are shared; a late joiner gets it all', async () => {
    const alice = await open('pair', 'Alice');
    const bob = await open('pair', 'Bob');

    // Alice writes two lines; Bob sees them.
    await alice.click('.cm-content');
    await alice.keyboard.type('# Alice:');
    await alice.keyboard.press('Escape'); // no completion popup may take the Enter
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('# Bob:');
    await eventually(async () => expect(await editorText(bob)).to.equal('# Alice:\n# Bob:'), 5000);

    // Each goes to the end of their line, then both type at once, key by key.
    await alice.locator('.cm-line').nth(0).click();
    await alice.keyboard.press('End');
    await bob.locator('.cm-line').nth(1).click();
    await bob.keyboard.press('End');
    await Promise.all([
      alice.keyboard.type(' alpha beta gamma delta from Alice', { delay: 20 }),
      bob.keyboard.type(' one two three four five from Bob', { delay: 20 }),
    ]);
    const expected = '# Alice: alpha beta gamma delta from Alice\n# Bob: one two three four five from Bob';
    await eventually(async () => {
      expect(await editorText(alice)).to.equal(expected);
      expect(await editorText(bob)).to.equal(expected);
    }, 5000);
    expect(await stored('pair')).to.equal(expected);

    // Each sees the other's caret, labelled with the other's name, and both names in the list.
    await alice.locator('.cm-ySelectionInfo', { hasText: 'Bob' }).waitFor();
    await bob.locator('.cm-ySelectionInfo', { hasText: 'Alice' }).waitFor();
    expect(await alice.locator('#people li').allTextContents()).to.deep.equal(['Alice (you)', 'Bob']);

    // Alice switches to Python: Bob's editor re-highlights, and he is told who did it.
    await alice.locator('#language').selectOption('python');
    await bob.locator('#editor[data-language="python"]').waitFor();
    expect(await bob.locator('#language').inputValue()).to.equal('python');
    await bob.locator('#notice', { hasText: 'Alice switched the language to Python.' }).waitFor();
    expect(await alice.locator('#notice').textContent()).to.equal(''); // she knows
    // Brackets and quotes close themselves, Enter indents as Python says.
    await alice.keyboard.press('Escape');
    await alice.keyboard.press('Enter'); // a new line under hers
    await alice.keyboard.type('def greet(name):');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('return "hi " + name');
    await alice.keyboard.press('Escape');
    const code = 'def greet(name):\n    return "hi " + name';
    await eventually(async () => expect(await editorText(bob)).to.include(code), 5000);
    expect(await tokenColor(bob, 'def')).to.equal('rgb(119, 0, 136)'); // a Python keyword
    // Bob selects his line: Alice sees the selection in his colour.
    await bob.locator('.cm-line').nth(3).click();
    await bob.keyboard.press('End');
    await bob.keyboard.press('Shift+Home');
    await eventually(async () => expect((await alice.locator('.cm-ySelection').allTextContents()).join('')).to.equal('# Bob: one two three four five from Bob'), 5000);
    await alice.locator('.cm-ySelectionInfo', { hasText: 'Bob' }).waitFor();
    await screenshot(alice, 'editor-alice');
    await screenshot(bob, 'editor-bob');

    // Carol opens the page later: same text, Python, everyone's names.
    const carol = await open('pair', 'Carol');
    const final = `# Alice: alpha beta gamma delta from Alice\n${code}\n# Bob: one two three four five from Bob`;
    await eventually(async () => expect(await editorText(carol)).to.equal(final), 5000);
    expect(await carol.locator('#language').inputValue()).to.equal('python');
    expect(await tokenColor(carol, 'def')).to.equal('rgb(119, 0, 136)');
    await carol.locator('.cm-ySelectionInfo', { hasText: 'Alice' }).waitFor();
    await carol.locator('.cm-ySelectionInfo', { hasText: 'Bob' }).waitFor();
    expect(await carol.locator('#people li').allTextContents()).to.deep.equal(['Carol (you)', 'Alice', 'Bob']);
    await screenshot(carol, 'editor-late-joiner');
    expect(await stored('pair')).to.equal(final); // joining sent nothing that changed the document

    // Bob leaves: his caret disappears for the others at once.
    await contexts[1]!.close();
    await alice.locator('.cm-ySelectionInfo', { hasText: 'Bob' }).waitFor({ state: 'detached' });
    expect(await alice.locator('#people li').allTextContents()).to.deep.equal(['Alice (you)', 'Carol']);
  });

  it("Enter indents and splits auto-closed brackets; the others' name labels hide no code; two people, two colours", async () => {
    const alice = await open('keys', 'Alice');
    const bob = await open('keys', 'Bob');
    await alice.click('.cm-content');
    await alice.keyboard.type('function f() {'); // the } closes itself
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('return 1;');
    const code = 'function f() {\n  return 1;\n}';
    expect(await editorText(alice)).to.equal(code);
    await eventually(async () => expect(await editorText(bob)).to.equal(code), 5000);
    expect(await stored('keys')).to.equal(code);

    // Bob puts his caret at the start of the last line, right under Alice's code.
    await bob.locator('.cm-line').nth(2).click();
    await bob.keyboard.press('Home');
    const label = alice.locator('.cm-ySelectionInfo', { hasText: 'Bob' });
    await label.waitFor();
    await alice.mouse.move(1, 1);
    // Not hovered: the label is transparent and takes no clicks, so the line above stays readable.
    const style = () => label.evaluate((e) => ({ opacity: getComputedStyle(e).opacity, pointerEvents: getComputedStyle(e).pointerEvents }));
    await eventually(async () => expect(await style()).to.deep.equal({ opacity: '0', pointerEvents: 'none' }), 2000);
    await screenshot(alice, 'editor-labels-hidden');
    // Hovering Bob's caret (the dot on top of it) shows his name.
    await alice.locator('.cm-ySelectionCaretDot').hover();
    await eventually(async () => expect((await style()).opacity).to.equal('1'), 2000);
    await screenshot(alice, 'editor-label-hovered');

    // Different colours: in the list of people, and Bob's caret in Alice's editor is in his.
    const dots = async (page: Page) => page.locator('#people li .user-dot').evaluateAll((ds) => ds.map((d) => getComputedStyle(d).backgroundColor));
    const [aliceColor, bobColor] = await dots(alice);
    expect(aliceColor).to.not.equal(bobColor);
    expect(await dots(bob)).to.deep.equal([bobColor, aliceColor]); // "you" first
    expect(await alice.locator('.cm-ySelectionCaret').evaluate((e) => getComputedStyle(e).borderLeftColor)).to.equal(bobColor);
  });

  it('keeps edits made while disconnected and sends them on reconnect; a rename reconnects under the new name', async () => {
    const alice = await open('offline', 'Alice');
    const bob = await open('offline', 'Bob');
    await alice.click('.cm-content');
    await alice.keyboard.type('online text');
    await eventually(async () => expect(await editorText(bob)).to.equal('online text'), 5000);

    // The server drops Alice's connection (1012: restart, so her page reconnects).
    const [conn] = t.app.sockets!.getConnectionsByChannel('editor:offline').filter((c) => c.profile.name === 'Alice');
    const aliceStatus = await watchStatus(alice);
    t.app.sockets!.disconnect(conn!.id, 1012, 'service restart');
    await aliceStatus.saw('reconnecting');
    await alice.keyboard.type(' + typed while offline');
    await alice.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    await eventually(async () => expect(await editorText(bob)).to.equal('online text + typed while offline'), 5000);
    expect(await stored('offline')).to.equal('online text + typed while offline');
    // Presence was rebuilt too: Alice sees Bob again, Bob sees Alice.
    await alice.locator('#people li', { hasText: 'Bob' }).waitFor();
    await bob.locator('#people li', { hasText: 'Alice' }).waitFor();
    await screenshot(alice, 'editor-after-reconnect');

    // Bob becomes Robert: a new connection, the same document, one entry in Alice's list.
    await bob.click('.cm-content');
    await bob.fill('#name-input', 'Robert');
    await bob.press('#name-input', 'Enter');
    await eventually(async () => expect(await alice.locator('#people li').allTextContents()).to.deep.equal(['Alice (you)', 'Robert']), 5000);
    expect(new URL(bob.url()).searchParams.get('name')).to.equal('Robert');
    expect(await editorText(bob)).to.equal('online text + typed while offline');
    expect(t.app.sockets!.getConnectionsByChannel('editor:offline').map((c) => c.profile.name).sort()).to.deep.equal(['Alice', 'Robert']);
  });
});
