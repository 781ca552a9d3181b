/**
 * Honest send status (issue 14): a chat message sent while the server is unreachable shows
 * "sending…" (not a failure, however long the outage, past the 10 s request timeout too), goes
 * out once the page reconnects, is delivered exactly once and is then shown as sent.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, openSwitchedPage, screenshot } from '../browser';
import { closeAll, sleep, startApp, type TestApp } from '../helpers';

describe('chat page: a message sent while offline', function () {
  this.timeout(90_000);
  let t: TestApp;
  let browser: Browser;
  const opened: Array<{ errors: string[]; close: () => Promise<void> }> = [];

  before(async () => {
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    t = await startApp();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const o of opened) await o.close();
    for (const o of opened) expect(o.errors, 'page errors').to.deep.equal([]);
    await browser?.close();
    await closeAll();
  });

  const ready = async (page: Page) => {
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#user-list .chat-you').waitFor();
  };
  const lines = (page: Page, text: string) => page.locator('#messages li.msg', { hasText: text });

  it('shows "sending…" during the outage, then delivers it exactly once and shows it as sent', async () => {
    const room = `offline-${Date.now().toString(36)}`;
    const a = await openSwitchedPage(browser, t.httpUrl(`/examples/chat?room=${room}&name=Ann`));
    opened.push({ errors: a.errors, close: () => a.context.close() });
    const b = await openPage(browser, t.httpUrl(`/examples/chat?room=${room}&name=Bob`));
    opened.push({ errors: b.errors, close: () => b.context.close() });
    const ann = a.page;
    const bob = b.page;
    await ready(ann);
    await ready(bob);
    await ann.locator('#user-list .chat-user-name', { hasText: 'Bob' }).waitFor();

    // The server becomes unreachable for Ann: her connection drops and every reconnect fails.
    a.outage.on = true;
    for (const conn of t.app.sockets!.getConnections().filter((c) => c.profile.name === 'Ann')) t.app.sockets!.disconnect(conn.id, 1012, 'restarting');
    await ann.locator('#status[data-state="reconnecting"]').waitFor();

    const text = 'sent while the server was away';
    await ann.fill('#message-input', text);
    await ann.press('#message-input', 'Enter');
    const mine = lines(ann, text);
    await mine.and(ann.locator('[data-state="sending"]')).waitFor();
    expect(await mine.locator('.msg-sending').textContent()).to.equal('sending…');
    await screenshot(ann, 'chat-offline-sending');

    // Longer than the 10 s request timeout: still sending, no failure shown.
    await sleep(11_000);
    expect(await mine.count()).to.equal(1);
    expect(await mine.getAttribute('data-state')).to.equal('sending');
    expect(await ann.locator('#send-error').isHidden()).to.equal(true);
    expect(await lines(bob, text).count()).to.equal(0);

    // Back online: delivered once to Bob, shown once and as sent to Ann.
    a.outage.on = false;
    await ann.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await lines(bob, text).waitFor({ timeout: 10_000 });
    await ann.waitForFunction((t) => [...document.querySelectorAll('#messages li.msg')].some((li) => li.textContent!.includes(t) && !li.classList.contains('pending') && (li as HTMLElement).dataset.state !== 'sending'), text, { timeout: 10_000 });
    await sleep(500); // any duplicate would have arrived by now
    expect(await lines(bob, text).count(), 'lines Bob sees').to.equal(1);
    expect(await lines(ann, text).count(), 'lines Ann sees').to.equal(1);
    expect(await ann.locator('#messages li.pending, #messages li[data-state="failed"]').count()).to.equal(0);
    expect(await ann.locator('#send-error').isHidden()).to.equal(true);
    expect(await ann.inputValue('#message-input')).to.equal('');
    await screenshot(ann, 'chat-offline-sent');

    // And in the history a late joiner gets: once.
    const c = await openPage(browser, t.httpUrl(`/examples/chat?room=${room}&name=Cid`));
    opened.push({ errors: c.errors, close: () => c.context.close() });
    await ready(c.page);
    expect(await lines(c.page, text).count(), 'lines in the history').to.equal(1);
  });
});
