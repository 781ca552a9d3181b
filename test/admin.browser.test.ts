/**
 * The admin pages in Debian's Chromium (test/browser.ts), against a real server and real ws
 * clients: live updates without reload, send, publish, kick and the tap, as an admin would use
 * them. Each page is saved as a screenshot under test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from './browser';
import { closeAll, connect, refusedUpgrade, startApp, type TestApp, type TestClient } from './helpers';

describe('admin pages in a browser', function () {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let errors: string[] = [];

  before(async function () {
    // Page scripts are served from public/js, which only the build writes.
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    browser = await launchBrowser();
  });
  after(() => browser?.close());
  beforeEach(async () => {
    t = await startApp({ admin: { statusIntervalMs: 150, tapBatchMs: 50 } });
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    await closeAll();
    expect(errors, 'page errors').to.deep.equal([]);
  });

  async function open(path: string): Promise<Page> {
    const opened = await openPage(browser, t.httpUrl(path));
    ({ context, errors } = opened);
    await opened.page.locator('#live', { hasText: 'live' }).waitFor();
    return opened.page;
  }

  function client(ch: string, agent: string): Promise<TestClient> {
    return connect(t.url(`/example/socket?ch=${ch}`), { headers: { 'user-agent': agent } });
  }

  function idOf(agent: string): string {
    return t.app.sockets!.getConnections().find((c) => c.userAgent === agent)!.id;
  }

  it('/admin/sockets shows new connections and their channels without a reload', async () => {
    const page = await open('/admin/sockets');
    await page.locator('#counters .card', { hasText: 'Connections' }).locator('strong', { hasText: /^1$/ }).waitFor();
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    await client('lobby', 'Agent/One');
    await client('games', 'Agent/Two');
    const rows = page.locator('#connections tbody tr');
    await rows.filter({ hasText: 'Agent/One' }).waitFor();
    await rows.filter({ hasText: 'Agent/Two' }).waitFor();
    await page.locator('#channels tbody tr', { hasText: 'games' }).waitFor();
    await page.locator('#counters .card', { hasText: 'Connections' }).locator('strong', { hasText: /^3$/ }).waitFor();
    expect(navigations, 'no reload').to.deep.equal([]);

    const row = rows.filter({ hasText: 'Agent/One' });
    expect(await row.locator('a.id').getAttribute('href')).to.equal(`/admin/sockets/conn/${idOf('Agent/One')}`);
    expect(await row.textContent()).to.contain('127.0.0.1').and.contain('lobby').and.contain('/example/socket');

    // The search runs on the server and narrows the table.
    await page.fill('#connections-search', 'agent/two');
    await page.locator('#connections-pager', { hasText: '1–1 of 1' }).waitFor();
    expect(await rows.count()).to.equal(1);
    await page.fill('#connections-search', '');
    await page.locator('#connections-pager', { hasText: '1–3 of 3' }).waitFor();
    await screenshot(page, 'admin-sockets');
  });

  it('/admin/sockets/conn/{id} sends a message the client receives, and shows bad JSON', async () => {
    const ws = await client('lobby', 'Agent/Send');
    const page = await open(`/admin/sockets/conn/${idOf('Agent/Send')}`);
    await page.locator('#details dd', { hasText: 'Agent/Send' }).waitFor();

    await page.fill('#send [name=cmd]', 'notice');
    await page.fill('#send [name=param]', '{"text": oops}');
    await page.click('#send button');
    await page.locator('#send output.error', { hasText: 'not valid JSON' }).waitFor();

    await page.fill('#send [name=param]', '{"text": "hello from the admin"}');
    await page.click('#send button');
    await page.locator('#send output.ok', { hasText: 'Sent.' }).waitFor();
    const frame = await ws.waitFor({ cmd: 'notice' });
    expect(frame).to.deep.include({ channel: 'lobby', param: { text: 'hello from the admin' } });
    expect(ws.frames.filter((f) => f.cmd === 'notice')).to.have.length(1);
    await screenshot(page, 'admin-connection');
  });

  it('/admin/sockets/chan/{key} lists the members and sends to all of them', async () => {
    const [a, b] = [await client('news', 'Agent/A'), await client('news', 'Agent/B')];
    const outsider = await client('other', 'Agent/Outside');
    const page = await open('/admin/sockets/chan/news');
    await page.locator('#members tbody tr', { hasText: 'Agent/A' }).waitFor();
    await page.locator('#members tbody tr', { hasText: 'Agent/B' }).waitFor();
    expect(await page.locator('#members tbody tr', { hasText: 'Agent/Outside' }).count()).to.equal(0);

    await page.fill('#publish [name=cmd]', 'headline');
    await page.fill('#publish [name=param]', '{"title": "wsforge admin"}');
    await page.click('#publish button');
    await page.locator('#publish output.ok', { hasText: 'Sent to 2 members.' }).waitFor();
    for (const c of [a, b]) expect((await c.waitFor({ cmd: 'headline' })).param).to.deep.equal({ title: 'wsforge admin' });
    await outsider.sync();
    expect(outsider.since(0, { cmd: 'headline' })).to.deep.equal([]);
    await screenshot(page, 'admin-channel');
  });

  it('kicks from the connection page: the client sees close-connection and close 4000', async () => {
    const ws = await client('lobby', 'Agent/Kick');
    const page = await open(`/admin/sockets/conn/${idOf('Agent/Kick')}`);
    await page.fill('#kick [name=reason]', 'too many messages');
    page.once('dialog', (d) => void d.accept());
    await page.click('#kick button');
    expect((await ws.waitFor({ cmd: 'close-connection' })).param).to.deep.equal({ reason: 'too many messages' });
    expect(await ws.closed).to.deep.equal({ code: 4000, reason: 'too many messages' });
    await page.locator('#state', { hasText: 'closed' }).waitFor();
    expect(await page.locator('#send button').isDisabled()).to.equal(true);
  });

  it('/admin/sockets/tap shows frames live, filters, pauses and keeps the admin out', async () => {
    const ws = await client('tapped', 'Agent/Tap');
    const page = await open('/admin/sockets/tap');
    ws.send({ channel: 'tapped', cmd: 'ping', param: {}, ref: 1 });
    ws.send({ channel: 'tapped', cmd: 'chat', param: { text: '<b>not bold</b>' } });
    const rows = page.locator('#tap tbody tr');
    const chatIn = rows.filter({ hasText: '↓ in' }).filter({ hasText: 'chat' });
    await chatIn.waitFor();
    expect(await chatIn.locator('td.preview').textContent()).to.contain('<b>not bold</b>');
    expect(await page.locator('#tap b').count()).to.equal(0);
    await rows.filter({ hasText: '↑ out' }).filter({ hasText: 'chat' }).waitFor();
    expect(await rows.filter({ hasText: 'overview' }).count()).to.equal(0);
    await screenshot(page, 'admin-tap');

    // Only pings from now on.
    await page.fill('#filter [name=cmd]', 'ping');
    await page.click('#clear');
    await page.waitForTimeout(400);
    ws.send({ channel: 'tapped', cmd: 'chat', param: { text: 'filtered out' } });
    ws.send({ channel: 'tapped', cmd: 'ping', param: {} });
    await rows.filter({ hasText: 'ping' }).first().waitFor();
    expect(await rows.filter({ hasText: 'filtered out' }).count()).to.equal(0);
    expect(await rows.filter({ hasText: 'chat' }).count()).to.equal(0);

    await page.click('#pause');
    await page.locator('#tap-stats', { hasText: 'paused' }).waitFor();
    await expectTapInactive();
    const shown = await rows.count();
    ws.send({ channel: 'tapped', cmd: 'ping', param: {} });
    await ws.sync();
    await page.waitForTimeout(200);
    expect(await rows.count()).to.equal(shown);
  });

  it('works with the address at WS_MAX_CONNECTIONS_PER_IP: admin pages have their own reserve', async () => {
    await t.close();
    t = await startApp({ admin: { statusIntervalMs: 150 }, socket: { maxConnectionsPerIp: 3 } });
    for (const agent of ['Agent/Cap1', 'Agent/Cap2', 'Agent/Cap3']) await client('full', agent);
    expect((await refusedUpgrade(t.url('/example/socket?ch=full'))).status, 'the cap is full').to.equal(429);

    const page = await open('/admin/sockets');
    await page.locator('#connections tbody tr', { hasText: 'Agent/Cap3' }).waitFor();
    await page.locator('#counters .card', { hasText: 'Connections' }).locator('strong', { hasText: /^4$/ }).waitFor();
    // A second admin page from the same address too, and the cap still holds for everyone else.
    const second = await context!.newPage();
    await second.goto(t.httpUrl('/admin/sockets/tap'));
    await second.locator('#live', { hasText: 'live' }).waitFor();
    expect((await refusedUpgrade(t.url('/example/socket?ch=full'))).status).to.equal(429);
  });

  it('says why when the admin socket is refused (HTTP status and message)', async () => {
    await t.close();
    t = await startApp({ admin: { statusIntervalMs: 150 }, socket: { adminConnectionsPerIp: 1 } });
    await open('/admin/sockets');
    const second = await context!.newPage();
    await second.goto(t.httpUrl('/admin/sockets'));
    await second.locator('#live', { hasText: 'refused: HTTP 429' }).waitFor();
    expect(await second.locator('#live').textContent()).to.contain('WS_ADMIN_CONNECTIONS_PER_IP=1');
  });

  it('asks before Disconnect, and cancelling leaves the connection open', async () => {
    const ws = await client('lobby', 'Agent/Confirm');
    const page = await open(`/admin/sockets/conn/${idOf('Agent/Confirm')}`);
    await page.locator('#details dd', { hasText: 'Agent/Confirm' }).waitFor();
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.click('#kick button');
    await page.waitForTimeout(300);
    expect(asked).to.have.length(1);
    expect(asked[0]).to.contain('Disconnect').and.contain(idOf('Agent/Confirm').slice(0, 8));
    await ws.sync();
    expect(ws.frames.filter((f) => f.cmd === 'close-connection'), 'not kicked').to.deep.equal([]);
    expect(await page.locator('#kick output').textContent()).to.equal('');

    // Every tab of the user: asked again, naming the user.
    const other = await client('elsewhere', 'Agent/Confirm2');
    void other;
    await page.check('#kick [name=user]');
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.click('#kick button');
    await page.locator('#kick output.ok', { hasText: /^Disconnected \d+ connections?\.$/ }).waitFor();
    expect(asked[1]).to.contain('every connection of user');
    expect(await ws.closed).to.deep.include({ code: 4000 });
  });

  it('"Sent to N": the connection page says how many connections got the frame', async () => {
    const ws = await client('lobby', 'Agent/Count');
    const page = await open(`/admin/sockets/conn/${idOf('Agent/Count')}`);
    await page.locator('#details dd', { hasText: 'Agent/Count' }).waitFor();
    await page.fill('#send [name=cmd]', 'notice');
    await page.fill('#send [name=param]', '{"text": "counted"}');
    await page.click('#send button');
    await page.locator('#send output.ok', { hasText: 'Sent. Received by 1 connection on this node.' }).waitFor();
    await ws.waitFor({ cmd: 'notice' });
  });

  it('the tap filter hides the rows already shown, and clearing it shows them again', async () => {
    const ws = await client('tapped', 'Agent/TapFilter');
    const page = await open('/admin/sockets/tap');
    ws.send({ channel: 'tapped', cmd: 'chat', param: { text: 'shown before the filter' } });
    ws.send({ channel: 'tapped', cmd: 'ping', param: {}, ref: 1 });
    const rows = page.locator('#tap tbody tr');
    const chat = rows.filter({ hasText: 'shown before the filter' }).first();
    await chat.waitFor();
    await rows.filter({ hasText: 'ping' }).first().waitFor();

    await page.fill('#filter [name=cmd]', 'ping');
    await chat.waitFor({ state: 'hidden' });
    expect(await rows.filter({ hasText: 'ping' }).first().isVisible()).to.equal(true);
    await page.locator('#tap-stats', { hasText: 'hidden by the filter' }).waitFor();

    await page.fill('#filter [name=cmd]', '');
    await chat.waitFor({ state: 'visible' });
  });

  it('/admin/login is a clean form when ADMIN_TOKEN is set', async () => {
    await t.close();
    t = await startApp({ admin: { token: 'browser-test-token-123' } });
    const opened = await openPage(browser, t.httpUrl('/admin/sockets'));
    ({ context, errors } = opened);
    const page = opened.page;
    await page.waitForURL(/\/admin\/login\?next=%2Fadmin%2Fsockets$/);
    await page.fill('[name=token]', 'browser-test-token-123');
    await screenshot(page, 'admin-login');
    await page.click('form.stack button');
    await page.waitForURL(/\/admin\/sockets$/);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await page.locator('.signout button').textContent()).to.equal('Sign out');
  });

  async function expectTapInactive(): Promise<void> {
    for (let i = 0; i < 100 && t.app.sockets!.tap.active; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.app.sockets!.tap.active, 'tap unsubscribed while paused').to.equal(false);
  }
});
