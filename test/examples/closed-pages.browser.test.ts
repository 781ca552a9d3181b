/**
 * Closed and kicked pages (issue 14): a page kicked by the server (4000 / close-connection)
 * disables its inputs and says why; a page whose connection drops counts down to the next
 * attempt, and "Reconnect now" reconnects before the countdown ends (client/connection-ui.ts).
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { roomChannel } from '../../server/features/chat/chat';
import { launchBrowser, openSwitchedPage } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

describe('example pages closed or reconnecting', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[][] = [];

  before(async () => {
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    t = await startApp();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await closeAll();
    expect(errors.flat(), 'page errors').to.deep.equal([]);
  });

  /**
   * A chat page whose WebSocket (re)connects are refused while `outage.on`, with Math.random
   * pinned near 1 so the backoff delays are their ceilings (≈ 0.5, 1, 2, 4 s…), not luck.
   */
  async function chat(room: string, name: string): Promise<{ page: Page; outage: { on: boolean } }> {
    const { context, page, errors: pageErrors, outage } = await openSwitchedPage(browser, t.httpUrl(`/examples/chat?room=${room}&name=${name}`), (c) =>
      c.addInitScript(() => (Math.random = () => 0.99)),
    );
    contexts.push(context);
    errors.push(pageErrors);
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#user-list .chat-you').waitFor();
    return { page, outage };
  }
  const connOf = (room: string, name: string) =>
    t.app.sockets!.getConnectionsByChannel(roomChannel(room)).find((c) => c.profile.name === name)!;

  it('a kicked chat page disables its input and send button and shows the reason', async () => {
    const room = `kick-${Date.now().toString(36)}`;
    const { page } = await chat(room, 'Kim');
    expect(await page.isDisabled('#message-input')).to.equal(false);
    t.app.sockets!.disconnect(connOf(room, 'Kim').id, 4000, 'bye');
    await page.locator('#status[data-state="closed"]', { hasText: 'disconnected by an administrator' }).waitFor();
    expect(await page.isDisabled('#message-input')).to.equal(true);
    expect(await page.isDisabled('#message-form button[type="submit"]')).to.equal(true);
    expect(await page.isDisabled('#nick-input')).to.equal(true);
    expect(await page.getByRole('button', { name: 'Reconnect now' }).isVisible()).to.equal(false);
  });

  it('a dropped page counts down to the next attempt; "Reconnect now" reconnects before it ends', async () => {
    const room = `drop-${Date.now().toString(36)}`;
    const { page, outage } = await chat(room, 'Dee');
    outage.on = true;
    t.app.sockets!.disconnect(connOf(room, 'Dee').id, 1001, 'restart');
    await page.locator('#status[data-state="reconnecting"]', { hasText: 'server restarting' }).waitFor();
    // Refused attempts grow the delay: wait for a countdown of at least 3 s, and see it tick down.
    const status = page.locator('#status');
    await page.waitForFunction(() => /reconnecting in ([3-9]|\d\d) s/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 15_000 });
    const first = Number(/in (\d+) s/.exec((await status.textContent())!)![1]);
    await page.waitForFunction((n) => /in (\d+) s/.exec(document.getElementById('status')!.textContent ?? '')?.[1] === String(n - 1), first, { timeout: 2500 });
    const button = page.getByRole('button', { name: 'Reconnect now' });
    expect(await button.isVisible()).to.equal(true);

    outage.on = false;
    const clicked = Date.now();
    await button.click();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 1500 });
    // Well before the countdown (at least 1 s left when clicked) would have run out.
    expect(Date.now() - clicked).to.be.below(1500);
    expect(await button.isVisible()).to.equal(false);
    expect(await page.isDisabled('#message-input')).to.equal(false);
    await page.fill('#message-input', 'back at once');
    await page.press('#message-input', 'Enter');
    await page.locator('#messages li.mine', { hasText: 'back at once' }).waitFor();
  });
});
