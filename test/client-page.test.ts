import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { usePages } from './browser';
import { closeAll, startApp, type TestApp } from './helpers';

describe('example page in a browser', () => {
  const pages = usePages();
  let t: TestApp;
  let page: Page;
  const logLines = () => page.locator('#log li').allTextContents();

  before(async () => (t = await startApp()));
  after(closeAll);
  beforeEach(async () => {
    page = await pages.open(t.httpUrl('/example?ch=page-room'));
    await page.locator('#status', { hasText: 'connected' }).waitFor();
  });

  it('connects to the channel named by data-channel and pings', async () => {
    expect(t.app.sockets!.getConnectionsByChannel('page-room')).to.have.length(1);
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
    expect(t.app.sockets!.getConnectionsByChannel('side-room')).to.have.length(1);
  });

  it('shows when the server kicks it', async () => {
    const [conn] = t.app.sockets!.getConnectionsByChannel('page-room');
    t.app.sockets!.disconnect(conn!.id, 4000, 'bye');
    await page.locator('#status', { hasText: 'closed (4000: bye)' }).waitFor();
    expect(await logLines()).to.deep.equal(['close-connection page-room {"reason":"bye"}']);
  });
});
