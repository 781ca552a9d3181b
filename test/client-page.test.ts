import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createApp, type WsforgeApp } from '../server/app';
import { launchBrowser, openPage } from './browser';

describe('example page in a browser', () => {
  let forge: WsforgeApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let origin: string;
  const logLines = () => page.locator('#log li').allTextContents();

  before(async () => {
    // The page script is served from public/js, which only the build writes.
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    forge = createApp({ logLevel: 'silent' });
    forge.server.listen(0, '127.0.0.1');
    await once(forge.server, 'listening');
    origin = `http://127.0.0.1:${(forge.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await forge?.close();
  });
  beforeEach(async () => {
    ({ context, page, errors } = await openPage(browser, `${origin}/example?ch=page-room`));
    await page.locator('#status', { hasText: 'connected' }).waitFor();
  });
  afterEach(async () => {
    await context.close();
    expect(errors).to.deep.equal([]);
  });

  it('connects to the channel named by data-channel and pings', async () => {
    expect(forge.sockets!.getConnectionsByChannel('page-room')).to.have.length(1);
    await page.click('#ping');
    await page.locator('#log li', { hasText: /^ping: \d+ ms round trip$/ }).waitFor();
  });

  it('sends chat and renders frames as text, never as HTML', async () => {
    await page.fill('#chat-input', '<img src=x onerror="document.title=1">');
    await page.press('#chat-input', 'Enter');
    await page.locator('#log li', { hasText: '<img src=x' }).waitFor();
    expect(await page.locator('#log img').count()).to.equal(0);
    expect(await page.inputValue('#chat-input')).to.equal('');
    const [line] = await logLines();
    expect(line).to.match(/^chat page-room \{"user":"guest-[^"]+","text":"<img src=x onerror=\\"document.title=1\\">","time":\d+\}$/);
  });

  it('joins a room with socket.join and shows the reply', async () => {
    await page.fill('#join-input', 'side-room');
    await page.press('#join-input', 'Enter');
    await page.locator('#log li', { hasText: 'join side-room: {"created":true}' }).waitFor();
    expect(forge.sockets!.getConnectionsByChannel('side-room')).to.have.length(1);
  });

  it('shows when the server kicks it', async () => {
    const [conn] = forge.sockets!.getConnectionsByChannel('page-room');
    forge.sockets!.disconnect(conn!.id, 4000, 'bye');
    await page.locator('#status', { hasText: 'closed (4000: bye)' }).waitFor();
    expect(await logLines()).to.deep.equal(['close-connection page-room {"reason":"bye"}']);
  });
});
