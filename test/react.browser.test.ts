import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import * as esbuild from 'esbuild';
import type { Page } from 'playwright-core';
import type { Feature } from '../server/features/feature';
import type { Connection } from '../server/socket/connection';
import { usePages } from './browser';
import { closeAll, connect, eventually, sleep, startApp, within, type TestApp } from './helpers';

/** The fixture page, bundled with React's development build: its warnings reach the console and fail the test. */
async function bundlePage(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [new URL('./fixtures/react-page.tsx', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The page at /react-test and its script; the script is a file because the CSP allows no inline script. */
function reactPage(script: string): Feature {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>useSocket</title><link rel="icon" href="data:,"></head><body>
<div id="app"></div>
<button id="unmount">unmount</button><button id="mount">mount</button>
<script type="module" src="/react-test/page.js"></script>
</body></html>`;
  return ({ router }) => {
    router.get('/react-test', (_req, res) => res.type('html').send(html));
    router.get('/react-test/page.js', (_req, res) => res.type('text/javascript').send(script));
  };
}

const isBrowser = (userAgent: string | undefined) => /Chrome/.test(userAgent ?? '');

describe('useSocket (client/react.ts) in a React page in Chromium', function () {
  this.timeout(45_000);
  const pages = usePages();
  let t: TestApp;
  /** WebSocket upgrades Chromium asked for, refused or not: a reconnect attempt counts even if it fails. */
  let upgrades = 0;

  before(async () => {
    t = await startApp({ features: [reactPage(await bundlePage())] });
    t.app.server.on('upgrade', (req: IncomingMessage) => {
      if (isBrowser(req.headers['user-agent'])) upgrades++;
    });
  });
  after(closeAll);

  /** The server's connections from the page (the `ws` clients of the test have no browser user agent). */
  const pageConns = (): Connection[] => t.app.sockets!.getConnections().filter((c) => isBrowser(c.userAgent));

  /** Waits until the server holds exactly one connection from the page, in `room`, and returns it. */
  async function onlyPageConn(room: string): Promise<Connection> {
    return eventually(() => {
      const conns = pageConns();
      expect(conns.map((c) => c.channel)).to.deep.equal([room]);
      return conns[0]!;
    });
  }

  async function open(room: string, query = ''): Promise<Page> {
    const page = await pages.open(t.httpUrl(`/react-test?ch=${room}${query}`));
    await page.locator('#status[data-state="connected"]').waitFor();
    return page;
  }

  const lines = (page: Page) => page.locator('#frames li').allTextContents();
  const uniqueRoom = (name: string) => `${name}-${Date.now().toString(36)}`;

  it('renders the frames the server sends, sends through the hook, and keeps one socket across renders', async () => {
    const room = uniqueRoom('react');
    const upgradesBefore = upgrades;
    const node = await connect(t.url(`/example/socket?ch=${room}`));
    const page = await open(room);
    const conn = await onlyPageConn(room);

    // A chat from a plain ws client in Node reaches the page and is rendered.
    node.send({ channel: room, cmd: 'chat', param: { text: 'hello from node' } });
    const { param } = await node.waitFor({ cmd: 'chat' });
    await page.locator('#frames li', { hasText: 'hello from node' }).waitFor();
    expect(await lines(page)).to.deep.equal([`[a] ${param.user}: hello from node`]);
    expect(await page.locator('#last').textContent()).to.equal('hello from node');

    // A new label re-renders with a new onMessage closure: the next frame must go through it.
    await page.fill('#label', 'b');
    node.send({ channel: room, cmd: 'chat', param: { text: 'second' } });
    await page.locator('#frames li', { hasText: 'second' }).waitFor();
    expect(await lines(page)).to.deep.equal([`[a] ${param.user}: hello from node`, `[b] ${param.user}: second`]);

    // The hook's send: the Node client and the page itself get the broadcast.
    await page.fill('#text', 'hi from react');
    await page.click('#send');
    const fromPage = await node.waitFor((f) => f.cmd === 'chat' && f.param.text === 'hi from react');
    expect(fromPage.param.user).to.equal(conn.profile.name);
    await page.locator('#frames li', { hasText: 'hi from react' }).waitFor();
    expect((await lines(page)).at(-1)).to.equal(`[b] ${conn.profile.name}: hi from react`);

    // Every keystroke and frame above re-rendered the component: still the one socket it opened first.
    expect(pageConns().map((c) => c.id)).to.deep.equal([conn.id]);
    expect(upgrades - upgradesBefore).to.equal(1);
  });

  it('closes its socket on unmount and never reconnects; a new mount opens a new one', async () => {
    const room = uniqueRoom('unmount');
    const node = await connect(t.url(`/example/socket?ch=${room}`));
    const page = await open(room);
    const conn = await onlyPageConn(room);
    const upgradesBefore = upgrades;

    // Taken before the click: once the connection is cleaned up, the service no longer knows its id.
    const closed = t.app.sockets!.readLoop(conn.id);
    await page.click('#unmount');
    // The server sees the page close the connection itself, normally.
    const info = await within(closed, 5000, 'the server to see the unmounted page close its socket');
    expect(info.code).to.equal(1000);
    expect(pageConns()).to.deep.equal([]);
    expect(await page.locator('#app').innerHTML()).to.equal('');

    // Frames for the room still flow; the unmounted page neither renders nor reconnects. The
    // first two retries would have come within 1.5 s (backoff 500 ms, doubling, full jitter).
    node.send({ channel: room, cmd: 'chat', param: { text: 'after unmount' } });
    await node.waitFor((f) => f.cmd === 'chat' && f.param.text === 'after unmount');
    await sleep(2000);
    expect(upgrades - upgradesBefore).to.equal(0);
    expect(pageConns()).to.deep.equal([]);
    expect(await page.locator('#app').innerHTML()).to.equal('');

    // Mounting again opens a fresh connection.
    await page.click('#mount');
    await page.locator('#status[data-state="connected"]').waitFor();
    const again = await onlyPageConn(room);
    expect(again.id).not.to.equal(conn.id);
    expect(upgrades - upgradesBefore).to.equal(1);
  });

  it('moves to a new socket when the url changes; the old one closing late does not mark the new one disconnected', async () => {
    const first = uniqueRoom('first');
    const second = uniqueRoom('second');
    const node = await connect(t.url(`/example/socket?ch=${second}`));
    const page = await open(first);
    const old = await onlyPageConn(first);

    // The server stops reading the old connection, so its closing handshake completes only when
    // the test says: after the new socket is open, as a slow network would order it.
    old.pause();
    await page.fill('#room', second);
    await page.click('#switch');
    await page.locator(`#status[data-state="connected"][data-room="${second}"]`).waitFor();
    const conn = await eventually(() => {
      const c = pageConns().find((c) => c.channel === second);
      expect(c, 'a connection in the new room').to.not.equal(undefined);
      return c!;
    });
    const oldClosed = t.app.sockets!.readLoop(old.id);
    old.resume();
    expect((await within(oldClosed, 5000, 'the old socket to close')).code).to.equal(1000);
    await sleep(300); // for the old socket's close event to reach the page
    expect(await page.locator('#status').getAttribute('data-state')).to.equal('connected');
    expect(pageConns().map((c) => c.id)).to.deep.equal([conn.id]);

    // And the new socket works: frames of the new room are rendered.
    node.send({ channel: second, cmd: 'chat', param: { text: 'in the second room' } });
    await page.locator('#frames li', { hasText: 'in the second room' }).waitFor();
  });

  it('under StrictMode keeps one connection and still closes it on unmount', async () => {
    const room = uniqueRoom('strict');
    const upgradesBefore = upgrades;
    const page = await open(room, '&strict=1');
    const conn = await onlyPageConn(room);
    await sleep(300);
    expect(pageConns().map((c) => c.id)).to.deep.equal([conn.id]);
    // StrictMode mounts, unmounts and mounts again at once: the first mount must not open a socket.
    expect(upgrades - upgradesBefore).to.equal(1);

    const closed = t.app.sockets!.readLoop(conn.id);
    await page.click('#unmount');
    expect((await within(closed, 5000, 'the unmounted page to close its socket')).code).to.equal(1000);
    await sleep(1500);
    expect(pageConns()).to.deep.equal([]);
    expect(upgrades - upgradesBefore).to.equal(1);
  });
});
