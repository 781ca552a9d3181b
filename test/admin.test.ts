/**
 * The admin (admin/): pages, /admin/sockets.json, the admin socket, the tap, /metrics and the
 * server API, against a real server on an ephemeral port and real ws clients.
 *
 * A non-loopback peer without ADMIN_TOKEN: this machine may only send traffic to loopback
 * addresses, so the app also listens on a Unix socket. Its peers have no IP address at all,
 * which the access check treats exactly like a remote IP (not loopback → 403); the address
 * classification itself is checked with real IPv4/IPv6 addresses in its own test.
 */
import { once } from 'node:events';
import { request as httpRequest, IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isLoopbackAddress, isLoopbackHost } from '../admin/access';
import type { AppOptions } from '../server/app';
import { createApp, type WsforgeApp } from '../server/app';
import { closeAll, connect, eventually, refusedUpgrade, sleep, startApp, type Frame, type TestApp, type TestClient } from './helpers';

const token = 'admin-token-0123456789';
const apiKey = 'api-key-0123456789abcdef';
const fast = { statusIntervalMs: 100, tapBatchMs: 50 };

/** A GET through node:http, which (unlike fetch) sends the Host header it is given; TCP or a Unix socket. */
function rawGet(
  target: { port: number } | { socketPath: string },
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const where = 'port' in target ? { host: '127.0.0.1', port: target.port } : target;
    const req = httpRequest({ ...where, path, headers: { host: 'localhost', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function get(t: TestApp, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(t.httpUrl(path), { headers, redirect: 'manual' });
}

/** `name=value` of a Set-Cookie header, ready for a Cookie header. */
function cookieFrom(res: Response, name: string): string | undefined {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${name}=`));
}

function hiddenField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name}`);
  return m[1]!;
}

/** Sign-in form fields as the browser would send them. */
function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' };
}

/** An example-route client in channel `ch`. */
function exampleClient(t: TestApp, ch: string, headers: Record<string, string> = {}): Promise<TestClient> {
  return connect(t.url(`/example/socket?ch=${ch}`), { headers });
}

/** The server-side id of the example client whose user agent is `agent`. */
function idOf(t: TestApp, agent: string): string {
  const conn = t.app.sockets!.getConnections().find((c) => c.userAgent === agent);
  if (!conn) throw new Error(`no connection with user agent ${agent}`);
  return conn.id;
}

function adminSocket(t: TestApp, headers: Record<string, string> = {}): Promise<TestClient> {
  return connect(t.url('/admin/sockets/socket'), { headers });
}

/** One sample of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admin', function () {
  afterEach(closeAll);

  describe('access without ADMIN_TOKEN (loopback only)', () => {
    let unixApp: WsforgeApp | undefined;
    let dir: string | undefined;
    afterEach(async () => {
      await unixApp?.close();
      unixApp = undefined;
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    /** The app listening on a Unix socket: its peers have no loopback address. */
    async function startUnixApp(options: AppOptions = {}): Promise<string> {
      dir = mkdtempSync(join(tmpdir(), 'wsforge-admin-'));
      const path = join(dir, 'app.sock');
      unixApp = createApp({ logLevel: 'silent', ...options });
      unixApp.server.listen(path);
      await once(unixApp.server, 'listening');
      return path;
    }

    const unixGet = (socketPath: string, path: string, headers?: Record<string, string>) => rawGet({ socketPath }, path, headers);

    it('serves pages, sockets.json and /metrics to a loopback peer, and says it is loopback-only', async () => {
      const t = await startApp();
      const page = await get(t, '/admin/sockets');
      expect(page.status).to.equal(200);
      const html = await page.text();
      expect(html).to.contain('ADMIN_TOKEN is not set').and.contain('loopback addresses only');
      expect(html).not.to.contain('Sign out');
      expect((await get(t, '/admin/sockets.json')).status).to.equal(200);
      expect((await get(t, '/metrics')).status).to.equal(200);
      expect((await get(t, '/admin/sockets/tap')).status).to.equal(200);
    });

    it('refuses a peer without a loopback address with 403 and how to set ADMIN_TOKEN, whatever X-Forwarded-For says', async () => {
      const socketPath = await startUnixApp();
      for (const path of ['/admin/sockets', '/admin/sockets.json', '/admin/sockets/tap', '/metrics']) {
        const res = await unixGet(socketPath, path, { 'x-forwarded-for': '127.0.0.1', accept: 'text/plain' });
        expect(res.status, path).to.equal(403);
        expect(res.body, path).to.contain('only answers loopback addresses').and.contain('set ADMIN_TOKEN');
      }
      // The same peer reaches the rest of the app: only the admin refuses it.
      const ok = await unixGet(socketPath, '/example');
      expect(ok.status).to.equal(200);
    });

    it('refuses the admin socket upgrade from a peer without a loopback address', async () => {
      const socketPath = await startUnixApp();
      const refused = await refusedUpgrade(`ws+unix://${socketPath}:/admin/sockets/socket`);
      expect(refused.status).to.equal(403);
      expect(refused.body).to.contain('ADMIN_TOKEN');
      expect(unixApp!.sockets!.getConnections()).to.have.length(0);
    });

    it('with ADMIN_TOKEN set, lets a peer without a loopback address in with the token', async () => {
      const socketPath = await startUnixApp({ admin: { token } });
      expect((await unixGet(socketPath, '/admin/sockets.json')).status).to.equal(401);
      const res = await unixGet(socketPath, '/admin/sockets.json', { authorization: `Bearer ${token}` });
      expect(res.status).to.equal(200);
      expect(JSON.parse(res.body)).to.have.property('counts');
    });

    it('refuses a Host that is not loopback (DNS rebinding) even from a loopback peer', async () => {
      const t = await startApp();
      const res = await rawGet({ port: t.port }, '/admin/sockets.json', { host: `attacker.example:${t.port}` });
      expect(res.status).to.equal(403);
      expect(res.body).to.contain('DNS rebinding');
      expect((await rawGet({ port: t.port }, '/admin/sockets.json', { host: `localhost:${t.port}` })).status).to.equal(200);
    });

    it('sends /admin/login to the overview: there is nothing to sign in to', async () => {
      const t = await startApp();
      const res = await get(t, '/admin/login');
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal('/admin/sockets');
    });

    it('classifies addresses and Host headers', () => {
      for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).to.equal(true);
      for (const a of ['10.0.0.1', '192.168.1.20', '172.17.0.2', '8.8.8.8', '::ffff:10.0.0.1', 'fe80::1', '2001:db8::1', '', undefined]) {
        expect(isLoopbackAddress(a), String(a)).to.equal(false);
      }
      for (const h of ['localhost', 'localhost:8100', '127.0.0.1:9', '[::1]:8100', 'app.localhost']) expect(isLoopbackHost(h), h).to.equal(true);
      for (const h of ['attacker.example', '10.0.0.1:8100', 'localhost.attacker.example', '127.0.0.1.nip.io', '', undefined]) {
        expect(isLoopbackHost(h), String(h)).to.equal(false);
      }
    });
  });

  describe('access with ADMIN_TOKEN', () => {
    let t: TestApp;
    beforeEach(async () => (t = await startApp({ admin: { token } })));

    it('answers 401 without a credential and with a wrong one, 200 with the bearer token', async () => {
      const none = await get(t, '/admin/sockets.json');
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(await none.text()).to.contain('sign in');
      const wrong = await get(t, '/admin/sockets.json', { authorization: 'Bearer not-the-token-at-all' });
      expect(wrong.status).to.equal(401);
      expect(await wrong.text()).to.contain('wrong admin token');
      expect((await get(t, '/admin/sockets.json', { authorization: 'Basic Zm9vOmJhcg==' })).status).to.equal(401);
      const right = await get(t, '/admin/sockets.json', { authorization: `Bearer ${token}` });
      expect(right.status).to.equal(200);
    });

    it('sends a browser without a session to the sign-in form, keeping where it was going', async () => {
      const res = await get(t, '/admin/sockets/tap', { accept: 'text/html,*/*' });
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal('/admin/login?next=%2Fadmin%2Fsockets%2Ftap');
    });

    it('protects /metrics with the same token', async () => {
      expect((await get(t, '/metrics')).status).to.equal(401);
      expect((await get(t, '/metrics', { authorization: 'Bearer wrong-wrong-wrong-wrong' })).status).to.equal(401);
      const ok = await get(t, '/metrics', { authorization: `Bearer ${token}` });
      expect(ok.status).to.equal(200);
      expect(await ok.text()).to.contain('wsforge_connections');
    });

    it('signs in through the form: CSRF checked, an HttpOnly SameSite=Strict cookie that is not the token', async () => {
      const formPage = await get(t, '/admin/login?next=/admin/sockets/tap');
      expect(formPage.status).to.equal(200);
      const csrfCookie = cookieFrom(formPage, 'wsforge_csrf')!;
      const html = await formPage.text();
      const csrf = hiddenField(html, 'csrf');
      expect(hiddenField(html, 'next')).to.equal('/admin/sockets/tap');
      const post = (fields: Record<string, string>, cookie?: string) =>
        fetch(t.httpUrl('/admin/login'), { ...form(fields), headers: cookie ? { cookie } : {} });

      // No token field, a wrong one, or one from another browser's cookie: refused before the token is looked at.
      expect((await post({ token }, csrfCookie)).status).to.equal(403);
      expect((await post({ token, csrf: `${csrf}x` }, csrfCookie)).status).to.equal(403);
      expect((await post({ token, csrf })).status).to.equal(403);
      const otherBrowser = cookieFrom(await get(t, '/admin/login'), 'wsforge_csrf')!;
      const forged = await post({ token, csrf }, otherBrowser);
      expect(forged.status).to.equal(403);
      expect(await forged.text()).to.contain('CSRF');

      const wrong = await post({ token: 'not-the-admin-token', csrf }, csrfCookie);
      expect(wrong.status).to.equal(401);
      expect(await wrong.text()).to.contain('Wrong token');

      const ok = await post({ token, csrf, next: '/admin/sockets/tap' }, csrfCookie);
      expect(ok.status).to.equal(303);
      expect(ok.headers.get('location')).to.equal('/admin/sockets/tap');
      const setCookie = ok.headers.getSetCookie().find((c) => c.startsWith('wsforge_admin='))!;
      expect(setCookie).to.match(/HttpOnly/i).and.match(/SameSite=Strict/i).and.match(/Path=\/admin/);
      expect(setCookie).not.to.contain(token);
      const session = cookieFrom(ok, 'wsforge_admin')!;
      expect((await get(t, '/admin/sockets.json', { cookie: session })).status).to.equal(200);

      // A tampered or made-up session is worthless.
      const [name, value] = session.split('=') as [string, string];
      const tampered = `${name}=${Number(value.split('.')[0]) + 1}.${value.split('.')[1]}`;
      expect((await get(t, '/admin/sockets.json', { cookie: tampered })).status).to.equal(401);
    });

    it('never redirects off the admin after sign-in', async () => {
      const formPage = await get(t, '/admin/login');
      const cookie = cookieFrom(formPage, 'wsforge_csrf')!;
      const csrf = hiddenField(await formPage.text(), 'csrf');
      for (const next of ['https://attacker.example/', '//attacker.example/x', '/example']) {
        const res = await fetch(t.httpUrl('/admin/login'), { ...form({ token, csrf, next }), headers: { cookie } });
        expect(res.headers.get('location'), next).to.equal('/admin/sockets');
      }
    });

    it('signs out only with the CSRF token', async () => {
      const formPage = await get(t, '/admin/login');
      const cookie = cookieFrom(formPage, 'wsforge_csrf')!;
      const csrf = hiddenField(await formPage.text(), 'csrf');
      expect((await fetch(t.httpUrl('/admin/logout'), { ...form({}), headers: { cookie } })).status).to.equal(403);
      const out = await fetch(t.httpUrl('/admin/logout'), { ...form({ csrf }), headers: { cookie } });
      expect(out.status).to.equal(303);
      expect(out.headers.getSetCookie().find((c) => c.startsWith('wsforge_admin='))).to.match(/Max-Age=0/);
    });

    it('refuses the admin socket upgrade without a credential, with a wrong one, and from a foreign Origin', async () => {
      const url = t.url('/admin/sockets/socket');
      expect((await refusedUpgrade(url)).status).to.equal(401);
      expect((await refusedUpgrade(url, 2000, { headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } })).status).to.equal(401);
      const foreign = await refusedUpgrade(url, 2000, { headers: { authorization: `Bearer ${token}` }, origin: 'http://attacker.example' });
      expect(foreign.status).to.equal(403);
      // Another local dev server is same-site (so it would get the cookie) and passes the service's
      // development origin rule; the admin still wants its own host.
      const neighbour = await refusedUpgrade(url, 2000, { headers: { authorization: `Bearer ${token}` }, origin: 'http://localhost:3000' });
      expect(neighbour.status).to.equal(403);
      expect(neighbour.body).to.contain('cross-origin admin socket refused');
      expect(t.app.sockets!.getConnections()).to.have.length(0);

      const ok = await connect(url, { headers: { authorization: `Bearer ${token}` }, origin: `http://127.0.0.1:${t.port}` });
      expect(ok.isOpen).to.equal(true);
    });

    it('opens the admin socket with the session cookie', async () => {
      const formPage = await get(t, '/admin/login');
      const csrfCookie = cookieFrom(formPage, 'wsforge_csrf')!;
      const csrf = hiddenField(await formPage.text(), 'csrf');
      const ok = await fetch(t.httpUrl('/admin/login'), { ...form({ token, csrf }), headers: { cookie: csrfCookie } });
      const admin = await adminSocket(t, { cookie: cookieFrom(ok, 'wsforge_admin')!, origin: `http://127.0.0.1:${t.port}` });
      const reply = await admin.request('', 'watch', { view: 'connection', id: 'none' });
      expect(reply.cmd).to.equal('reply');
    });
  });

  describe('pages', () => {
    it('escapes what comes from the URL and has no inline script or handler', async () => {
      const t = await startApp();
      const client = await exampleClient(t, 'pages', { 'user-agent': 'pages-agent' });
      const id = idOf(t, 'pages-agent');
      const pages = ['/admin/sockets', '/admin/sockets/tap', `/admin/sockets/conn/${id}`, `/admin/sockets/chan/${encodeURIComponent('<script>x</script>')}`];
      for (const path of pages) {
        const res = await get(t, path);
        expect(res.status, path).to.equal(200);
        const html = await res.text();
        expect(html, path).not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/);
        expect(html, path).not.to.match(/\son[a-z]+=/i);
        expect(html, path).to.match(/<script type="module" src="\/admin\/assets\/js\/pages\/admin-[a-z]+\.js"><\/script>/);
      }
      const chan = await (await get(t, `/admin/sockets/chan/${encodeURIComponent('<script>x</script>')}`)).text();
      expect(chan).to.contain('&lt;script&gt;x&lt;/script&gt;').and.not.contain('<script>x');
      client.terminate();
    });

    it('answers 404 for an unknown connection and 400 for an over-long channel name', async () => {
      const t = await startApp({ socket: { maxChannelNameLength: 16 } });
      const unknown = await get(t, '/admin/sockets/conn/no-such-connection', { accept: 'text/html' });
      expect(unknown.status).to.equal(404);
      expect(await unknown.text()).to.contain('no connection no-such-connection on any node');
      const long = await get(t, `/admin/sockets/chan/${'x'.repeat(17)}`);
      expect(long.status).to.equal(400);
      expect(await long.text()).to.contain('at most 16 characters');
    });

    it('GET /admin/sockets.json returns the (cluster) status', async () => {
      const t = await startApp();
      const client = await exampleClient(t, 'json-room', { 'user-agent': 'json-agent' });
      await client.sync();
      const status = await (await get(t, '/admin/sockets.json')).json();
      expect(status.nodes).to.deep.equal([t.app.sockets!.node]);
      expect(status.counts.connections).to.equal(1);
      expect(status.channels).to.deep.include({ key: 'json-room', members: 1, users: 1 });
      const [conn] = status.connections;
      expect(conn).to.include({ id: idOf(t, 'json-agent'), route: '/example/socket', channel: 'json-room', userAgent: 'json-agent', remoteAddress: '127.0.0.1' });
      expect(conn.messagesIn).to.equal(1);
    });
  });

  describe('admin socket', () => {
    it('pushes the overview: counters, channels and one page of connections, searchable, live', async () => {
      const t = await startApp({ admin: { ...fast, pageSize: 3 } });
      for (let i = 0; i < 5; i++) await exampleClient(t, i < 3 ? 'red' : 'blue', { 'user-agent': `agent-${i}` });
      const admin = await adminSocket(t);
      const query = { q: '', offset: 0 };
      expect((await admin.request('', 'watch', { view: 'sockets', channels: query, connections: query })).cmd).to.equal('reply');
      const first = (await admin.waitFor({ cmd: 'overview' })).param;
      expect(first.counts.connections).to.equal(6); // 5 clients and this admin socket
      expect(first.connections).to.include({ total: 6, offset: 0, size: 3 });
      expect(first.connections.rows).to.have.length(3);
      expect(first.channels.rows.map((c: { key: string }) => c.key)).to.deep.equal(['red', 'blue', 'admin:sockets']);

      // Searching and paging happen on the server: only the page travels.
      await admin.request('', 'watch', { view: 'sockets', channels: { q: 'blu', offset: 0 }, connections: { q: 'AGENT-', offset: 3 } });
      const searched = (await admin.next({ cmd: 'overview' })).param;
      expect(searched.channels.rows.map((c: { key: string }) => c.key)).to.deep.equal(['blue']);
      expect(searched.connections).to.include({ total: 5, offset: 3 });
      expect(searched.connections.rows.map((c: { userAgent: string }) => c.userAgent)).to.deep.equal(['agent-1', 'agent-0']);

      // A new connection shows up in a later push without asking again.
      await exampleClient(t, 'green', { 'user-agent': 'agent-new' });
      const later = await admin.next((f) => f.cmd === 'overview' && f.param.connections.total === 6, 2000);
      expect(later.param.counts.connections).to.equal(7);
    });

    it('stays small with a thousand connections: one page per push, searched on the server', async () => {
      const t = await startApp({ admin: fast });
      // Four loopback source addresses keep each under the service's per-address cap.
      const opened: TestClient[] = [];
      for (let i = 0; i < 1000; i += 50) {
        const batch = Array.from({ length: 50 }, (_, j) =>
          connect(t.url(`/example/socket?ch=crowd-${(i + j) % 200}`), { localAddress: `127.0.0.${2 + ((i + j) % 4)}`, headers: { 'user-agent': `crowd-${i + j}` } }),
        );
        opened.push(...(await Promise.all(batch)));
      }
      const admin = await adminSocket(t);
      await admin.request('', 'watch', { view: 'sockets', channels: { q: '', offset: 0 }, connections: { q: '', offset: 0 } });
      const push = await admin.waitFor({ cmd: 'overview' });
      expect(push.param.counts.connections).to.equal(1001);
      expect(push.param.connections).to.include({ total: 1001, size: 50 });
      expect(push.param.connections.rows).to.have.length(50);
      expect(push.param.channels).to.include({ total: 201, size: 50 });
      expect(push.param.channels.rows).to.have.length(50);
      expect(JSON.stringify(push).length).to.be.below(40_000);
      await admin.request('', 'watch', { view: 'sockets', channels: { q: '', offset: 0 }, connections: { q: 'crowd-777', offset: 0 } });
      const found = (await admin.next({ cmd: 'overview' })).param.connections;
      expect(found.total).to.equal(1);
      expect(found.rows[0]).to.include({ userAgent: 'crowd-777', remoteAddress: '127.0.0.3' });
      for (const c of opened) c.terminate();
    });

    it('pushes only while watched', async () => {
      const t = await startApp({ admin: fast });
      const admin = await adminSocket(t);
      await admin.request('', 'watch', { view: 'sockets', channels: { q: '', offset: 0 }, connections: { q: '', offset: 0 } });
      await admin.next({ cmd: 'overview' });
      await admin.next({ cmd: 'overview' });
      await admin.request('', 'unwatch', {});
      await sleep(30);
      const count = admin.frames.filter((f) => f.cmd === 'overview').length;
      await sleep(350);
      expect(admin.frames.filter((f) => f.cmd === 'overview')).to.have.length(count);
    });

    it('pushes a channel with its members, and a connection until it closes', async () => {
      const t = await startApp({ admin: fast });
      const a = await exampleClient(t, 'room', { 'user-agent': 'member-a' });
      await exampleClient(t, 'room', { 'user-agent': 'member-b' });
      const admin = await adminSocket(t);
      await admin.request('', 'watch', { view: 'channel', key: 'room', members: { q: 'member-a', offset: 0 } });
      const ch = (await admin.waitFor({ cmd: 'channel' })).param;
      expect(ch).to.include({ key: 'room', memberCount: 2, users: 2 });
      expect(ch.members.rows.map((c: { userAgent: string }) => c.userAgent)).to.deep.equal(['member-a']);

      const id = idOf(t, 'member-a');
      await admin.request('', 'watch', { view: 'connection', id });
      const live = (await admin.next({ cmd: 'connection' })).param;
      expect(live.connection).to.include({ id, route: '/example/socket', channel: 'room' });
      await a.close();
      const gone = await admin.next((f) => f.cmd === 'connection' && f.param.connection === null);
      expect(gone.param.id).to.equal(id);
    });

    it('sends a frame to a connection; empty channel means its route channel', async () => {
      const t = await startApp();
      const client = await exampleClient(t, 'lobby', { 'user-agent': 'to-send' });
      const admin = await adminSocket(t);
      const id = idOf(t, 'to-send');
      const reply = await admin.request('', 'send', { connId: id, channel: '', cmd: 'notice', param: '{"text":"hello"}' });
      expect(reply).to.include({ cmd: 'reply' });
      expect(reply.param).to.deep.equal({ sent: true });
      expect((await client.waitFor({ cmd: 'notice' })).param).to.deep.equal({ text: 'hello' });
      expect((await client.waitFor({ cmd: 'notice' })).channel).to.equal('lobby');
      await admin.request('', 'send', { connId: id, channel: 'elsewhere', cmd: 'empty', param: '  ' });
      expect(await client.waitFor({ cmd: 'empty' })).to.deep.include({ channel: 'elsewhere', param: {} });
    });

    it('answers bad send and publish input with an error frame, sending nothing', async () => {
      const t = await startApp({ socket: { maxChannelNameLength: 20 } });
      const client = await exampleClient(t, 'lobby', { 'user-agent': 'bad-input' });
      const admin = await adminSocket(t);
      const id = idOf(t, 'bad-input');
      const badJson = await admin.request('', 'send', { connId: id, cmd: 'x', param: '{"text": hello}' });
      expect(badJson.cmd).to.equal('error');
      expect(badJson.param.code).to.equal('invalid_param');
      expect(badJson.param.message).to.match(/param: not valid JSON/);
      const noCmd = await admin.request('', 'send', { connId: id, cmd: '', param: '{}' });
      expect(noCmd.param).to.deep.include({ code: 'invalid_param' });
      expect(noCmd.param.message).to.contain('cmd is required');
      const unknown = await admin.request('', 'send', { connId: 'gone', cmd: 'x', param: '{}' });
      expect(unknown.param).to.deep.equal({ code: 'unknown_connection', message: 'no connection gone on any node' });
      const longChannel = await admin.request('', 'publish', { channel: 'x'.repeat(21), cmd: 'x', param: '{}' });
      expect(longChannel.param.message).to.equal('channel must be at most 20 characters');
      const publishJson = await admin.request('', 'publish', { channel: 'lobby', cmd: 'x', param: '[1,' });
      expect(publishJson.param.code).to.equal('invalid_param');
      const badView = await admin.request('', 'watch', { view: 'everything' });
      expect(badView.param.code).to.equal('invalid_param');
      await client.sync();
      expect(client.since(0, (f) => f.cmd === 'x')).to.deep.equal([]);
      expect(admin.isOpen).to.equal(true);
    });

    it('publishes to every member of a channel', async () => {
      const t = await startApp();
      const [a, b] = [await exampleClient(t, 'news'), await exampleClient(t, 'news')];
      const outsider = await exampleClient(t, 'other');
      const admin = await adminSocket(t);
      const reply = await admin.request('', 'publish', { channel: 'news', cmd: 'headline', param: '{"title":"wsforge 1.0"}' });
      expect(reply.param).to.deep.equal({ members: 2 });
      for (const c of [a, b]) expect((await c.waitFor({ cmd: 'headline' })).param).to.deep.equal({ title: 'wsforge 1.0' });
      await outsider.sync();
      expect(outsider.since(0, { cmd: 'headline' })).to.deep.equal([]);
    });

    it('kicks a connection: close-connection with the reason, then close 4000', async () => {
      const t = await startApp();
      const client = await exampleClient(t, 'lobby', { 'user-agent': 'to-kick' });
      const admin = await adminSocket(t);
      const id = idOf(t, 'to-kick');
      const tooLong = await admin.request('', 'kick', { connId: id, reason: 'é'.repeat(61) });
      expect(tooLong.param.message).to.contain('at most 120 bytes');
      const reply = await admin.request('', 'kick', { connId: id, reason: 'spamming' });
      expect(reply.param).to.deep.equal({ disconnected: 1 });
      expect((await client.waitFor({ cmd: 'close-connection' })).param).to.deep.equal({ reason: 'spamming' });
      expect(await client.closed).to.deep.equal({ code: 4000, reason: 'spamming' });
      expect((await admin.request('', 'kick', { connId: id })).param.code).to.equal('unknown_connection');
    });
  });

  describe('tap', () => {
    const everything = { channel: '', cmd: '', conn: '' };

    it('subscribes to the service tap only while a tap page watches', async () => {
      const t = await startApp({ admin: fast });
      const tap = t.app.sockets!.tap;
      const [one, two] = [await adminSocket(t), await adminSocket(t)];
      expect(tap.active).to.equal(false);
      await one.request('', 'watch', { view: 'tap', filter: everything });
      await two.request('', 'watch', { view: 'tap', filter: everything });
      expect(tap.active).to.equal(true);
      await one.request('', 'unwatch', {});
      expect(tap.active).to.equal(true);
      await two.request('', 'watch', { view: 'sockets', channels: { q: '', offset: 0 }, connections: { q: '', offset: 0 } });
      expect(tap.active).to.equal(false);
      await one.request('', 'watch', { view: 'tap', filter: everything });
      expect(tap.active).to.equal(true);
      await one.close();
      await eventually(() => expect(tap.active).to.equal(false));
    });

    it('shows frames in and out in batches, never the admin sockets own traffic', async () => {
      const t = await startApp({ admin: fast });
      const admin = await adminSocket(t);
      const adminId = t.app.sockets!.getConnections()[0]!.id;
      await admin.request('', 'watch', { view: 'tap', filter: everything });
      const client = await exampleClient(t, 'tapped', { 'user-agent': 'tapped' });
      const id = idOf(t, 'tapped');
      client.send({ channel: 'tapped', cmd: 'chat', param: { text: 'hi there' } });
      // Another admin's activity is admin traffic too.
      const other = await adminSocket(t);
      await other.request('', 'watch', { view: 'sockets', channels: { q: '', offset: 0 }, connections: { q: '', offset: 0 } });
      await other.next({ cmd: 'overview' });

      const entries: Frame['param'][] = [];
      await eventually(async () => {
        for (const f of admin.frames.filter((f) => f.cmd === 'tap')) entries.push(...f.param.entries);
        admin.frames.length = 0;
        expect(entries.some((e) => e.dir === 'out' && e.cmd === 'chat')).to.equal(true);
      });
      const chatIn = entries.find((e) => e.dir === 'in' && e.cmd === 'chat');
      expect(chatIn).to.include({ conn: id, channel: 'tapped', target: 'conn' });
      expect(chatIn.preview).to.contain('hi there');
      expect(chatIn.size).to.equal(Buffer.byteLength(JSON.stringify({ channel: 'tapped', cmd: 'chat', param: { text: 'hi there' } })));
      expect(entries.find((e) => e.dir === 'out' && e.cmd === 'chat')).to.include({ target: 'channel', channel: 'tapped' });
      const adminIds = t.app.sockets!.getConnections().filter((c) => c.route === '/admin/sockets/socket').map((c) => c.id);
      expect(adminIds).to.include(adminId);
      expect(entries.filter((e) => adminIds.includes(e.conn) || ['watch', 'overview', 'tap', 'reply'].includes(e.cmd))).to.deep.equal([]);
    });

    it('filters on the server by channel, cmd and connection', async () => {
      const t = await startApp({ admin: fast });
      const admin = await adminSocket(t);
      const a = await exampleClient(t, 'alpha', { 'user-agent': 'filter-a' });
      const b = await exampleClient(t, 'beta', { 'user-agent': 'filter-b' });
      await admin.request('', 'watch', { view: 'tap', filter: { channel: 'alph', cmd: 'chat', conn: idOf(t, 'filter-a').slice(0, 8) } });
      b.send({ channel: 'beta', cmd: 'chat', param: { text: 'not me' } });
      a.send({ channel: 'alpha', cmd: 'ping', param: {} });
      a.send({ channel: 'alpha', cmd: 'chat', param: { text: 'me' } });
      const batch = await admin.waitFor({ cmd: 'tap' });
      await sleep(120);
      const entries = admin.frames.filter((f) => f.cmd === 'tap').flatMap((f) => f.param.entries);
      expect(batch.param.dropped).to.equal(0);
      expect(entries.map((e) => `${e.dir} ${e.cmd} ${e.channel}`)).to.deep.equal(['in chat alpha']);
    });

    it('caps each batch and counts what it left out', async () => {
      const t = await startApp({ admin: { tapBatchMs: 200, tapBatchMax: 3 } });
      const admin = await adminSocket(t);
      const client = await exampleClient(t, 'storm', { 'user-agent': 'storm' });
      await admin.request('', 'watch', { view: 'tap', filter: { channel: '', cmd: 'chat', conn: '' } });
      for (let i = 0; i < 20; i++) client.send({ channel: 'storm', cmd: 'chat', param: { text: `m${i}` } });
      await client.sync();
      await sleep(450);
      const batches = admin.frames.filter((f) => f.cmd === 'tap').map((f) => f.param);
      for (const b of batches) expect(b.entries.length).to.be.at.most(3);
      expect(batches.reduce((n, b) => n + b.dropped, 0)).to.be.greaterThan(0);
      // 20 chats in and 20 out: each one either shown or counted.
      expect(batches.reduce((n, b) => n + b.entries.length + b.dropped, 0)).to.equal(40);
    });
  });

  describe('server API', () => {
    const post = (t: TestApp, path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${apiKey}` }) =>
      fetch(t.httpUrl(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

    it('is disabled (403) without ADMIN_API_KEY, even with the admin token', async () => {
      const t = await startApp({ admin: { token } });
      const res = await post(t, '/api/sockets/publish', { channel: 'x', cmd: 'y' }, { authorization: `Bearer ${token}` });
      expect(res.status).to.equal(403);
      expect((await res.json()).error).to.contain('set ADMIN_API_KEY');
    });

    it('answers 401 without the key and with a wrong one', async () => {
      const t = await startApp({ admin: { apiKey } });
      const none = await post(t, '/api/sockets/publish', { channel: 'x', cmd: 'y' }, {});
      expect(none.status).to.equal(401);
      expect((await none.json()).error).to.contain('missing Authorization');
      const wrong = await post(t, '/api/sockets/disconnect', { userId: 'u' }, { authorization: 'Bearer api-key-0123456789abcdeX' });
      expect(wrong.status).to.equal(401);
      expect((await wrong.json()).error).to.equal('wrong API key');
    });

    it('publishes {channel, cmd, param} to the members of a channel', async () => {
      const t = await startApp({ admin: { apiKey } });
      const [a, b] = [await exampleClient(t, 'orders'), await exampleClient(t, 'orders')];
      const res = await post(t, '/api/sockets/publish', { channel: 'orders', cmd: 'order-created', param: { id: 42 } });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ members: 2 });
      for (const c of [a, b]) expect((await c.waitFor({ cmd: 'order-created' })).param).to.deep.equal({ id: 42 });
      const noParam = await post(t, '/api/sockets/publish', { channel: 'orders', cmd: 'ping-all' });
      expect(noParam.status).to.equal(200);
      expect((await a.waitFor({ cmd: 'ping-all' })).param).to.deep.equal({});
    });

    it('refuses bad bodies with 400 naming the problems, 415 without JSON', async () => {
      const t = await startApp({ admin: { apiKey } });
      const invalid = await post(t, '/api/sockets/publish', { channel: '', cmd: 7, extra: true });
      expect(invalid.status).to.equal(400);
      const body = await invalid.json();
      expect(body.error).to.equal('invalid body');
      expect(body.problems.join('\n')).to.contain('channel').and.contain('cmd').and.contain('extra');
      const broken = await post(t, '/api/sockets/publish', '{"channel": ');
      expect(broken.status).to.equal(400);
      expect((await broken.json()).error).to.contain('bad request body');
      const text = await fetch(t.httpUrl('/api/sockets/publish'), { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: 'channel=x' });
      expect(text.status).to.equal(415);
      const both = await post(t, '/api/sockets/disconnect', { connId: 'a', userId: 'b' });
      expect(both.status).to.equal(400);
      expect((await both.json()).problems).to.deep.equal(['body: give exactly one of connId and userId']);
      expect((await post(t, '/api/sockets/disconnect', {})).status).to.equal(400);
    });

    it('disconnects one connection by id, 404 when unknown', async () => {
      const t = await startApp({ admin: { apiKey } });
      const client = await exampleClient(t, 'lobby', { 'user-agent': 'api-kick' });
      const res = await post(t, '/api/sockets/disconnect', { connId: idOf(t, 'api-kick'), reason: 'maintenance' });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ disconnected: 1 });
      expect(await client.closed).to.deep.equal({ code: 4000, reason: 'maintenance' });
      const unknown = await post(t, '/api/sockets/disconnect', { connId: 'nobody' });
      expect(unknown.status).to.equal(404);
      expect((await unknown.json()).error).to.equal('no connection nobody on any node');
    });

    it('disconnects every connection of a user', async () => {
      const t = await startApp({ admin: { apiKey } });
      // Two tabs of one guest (same signed guest cookie from a page visit), and someone else.
      const guest = cookieFrom(await get(t, '/example'), 'wsf_guest');
      expect(guest, 'guest cookie').to.be.a('string');
      const chat = t.url('/examples/chat/socket?room=api-test');
      const tabs = [await connect(chat, { headers: { cookie: guest! } }), await connect(chat, { headers: { cookie: guest! } })];
      const other = await exampleClient(t, 'lobby');
      const userId = t.app.sockets!.getConnections().find((c) => c.route === '/examples/chat/socket')!.profile.id;
      const res = await post(t, '/api/sockets/disconnect', { userId });
      expect(await res.json()).to.deep.equal({ disconnected: 2 });
      for (const tab of tabs) expect((await tab.closed).code).to.equal(4000);
      expect(other.isOpen).to.equal(true);
      expect(await (await post(t, '/api/sockets/disconnect', { userId: 'nobody' })).json()).to.deep.equal({ disconnected: 0 });
    });
  });

  describe('/metrics', () => {
    it('exposes connections, channels, frames, bytes, errors by code, disconnects and handler durations', async () => {
      const t = await startApp();
      const scrape = async () => (await get(t, '/metrics')).text();
      const before = await scrape();
      expect(sample(before, 'wsforge_connections')).to.equal(0);
      expect(sample(before, 'wsforge_frames_total', 'direction="in"')).to.equal(0);

      const client = await exampleClient(t, 'metered', { 'user-agent': 'metered' });
      expect((await client.request('metered', 'ping', {})).cmd).to.equal('reply');
      expect((await client.request('metered', 'no-such-cmd', {})).param.code).to.equal('unknown_cmd');
      const during = await scrape();
      expect(sample(during, 'wsforge_connections')).to.equal(1);
      expect(sample(during, 'wsforge_channels')).to.equal(1);
      expect(sample(during, 'wsforge_frames_total', 'direction="in"')).to.equal(2);
      expect(sample(during, 'wsforge_frames_total', 'direction="out"')).to.be.at.least(3); // pong, reply, error
      expect(sample(during, 'wsforge_bytes_total', 'direction="in"')).to.be.greaterThan(40);
      expect(sample(during, 'wsforge_errors_total', 'code="unknown_cmd"')).to.equal(1);
      expect(sample(during, 'wsforge_handler_duration_seconds_count', 'cmd="ping"')).to.equal(1);
      expect(sample(during, 'wsforge_handler_duration_seconds_bucket', 'le="+Inf",cmd="ping"')).to.equal(1);

      t.app.sockets!.disconnect(idOf(t, 'metered'), 4000, 'bye');
      await client.closed;
      const after = await eventually(async () => {
        const text = await scrape();
        expect(sample(text, 'wsforge_disconnects_total', 'code="4000"')).to.equal(1);
        return text;
      });
      expect(sample(after, 'wsforge_connections')).to.equal(0);
      // Totals survive the connection.
      expect(sample(after, 'wsforge_frames_total', 'direction="in"')).to.equal(2);
    });

    it('counts slow-consumer disconnects', async () => {
      const t = await startApp({ socket: { maxBufferedBytes: 4096 }, admin: { apiKey } });
      const client = await exampleClient(t, 'slow');
      client.pauseReading();
      const big = { text: 'x'.repeat(60_000) };
      for (let i = 0; i < 200 && client.isOpen; i++) {
        await fetch(t.httpUrl('/api/sockets/publish'), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
          body: JSON.stringify({ channel: 'slow', cmd: 'flood', param: big }),
        });
        if (t.app.sockets!.getConnections().length === 0) break;
      }
      const text = await eventually(async () => {
        const body = await (await get(t, '/metrics')).text();
        expect(sample(body, 'wsforge_slow_consumer_disconnects_total')).to.equal(1);
        return body;
      });
      expect(sample(text, 'wsforge_disconnects_total', 'code="4008"')).to.equal(1);
    });
  });

  describe('per-address reserve, counted replies, user kick', () => {
    afterEach(closeAll);

    it('admits admin sockets with the address at WS_MAX_CONNECTIONS_PER_IP, up to WS_ADMIN_CONNECTIONS_PER_IP', async () => {
      const t = await startApp({ socket: { maxConnectionsPerIp: 2, adminConnectionsPerIp: 2 } });
      await exampleClient(t, 'full');
      await exampleClient(t, 'full');
      const full = await refusedUpgrade(t.url('/example/socket?ch=full'));
      expect(full.status).to.equal(429);
      expect(full.body).to.contain('WS_MAX_CONNECTIONS_PER_IP=2');
      const [a, b] = [await adminSocket(t), await adminSocket(t)];
      expect(a.isOpen && b.isOpen).to.equal(true);
      const over = await refusedUpgrade(t.url('/admin/sockets/socket'));
      expect(over.status).to.equal(429);
      expect(over.body).to.contain('WS_ADMIN_CONNECTIONS_PER_IP=2');
      // The plain GET the pages use to learn why: same status and message.
      const why = await rawGet({ port: t.port }, '/admin/sockets/socket', { accept: 'text/plain' });
      expect(why.status).to.equal(429);
      expect(why.body).to.contain('WS_ADMIN_CONNECTIONS_PER_IP=2');
      // Slots come back when admin pages close, and the common cap never counted them.
      await a.close();
      await eventually(async () => expect((await adminSocket(t)).isOpen).to.equal(true));
      expect((await refusedUpgrade(t.url('/example/socket?ch=full'))).status).to.equal(429);
    });

    it('the plain GET of the admin socket path answers what the Gate would refuse: a foreign origin gets the upgrade\'s 403', async () => {
      const t = await startApp({ allowedOrigins: ['https://app.example'] });
      const evil = { origin: 'https://evil.example' };
      const upgrade = await refusedUpgrade(t.url('/admin/sockets/socket'), 2000, evil);
      const why = await rawGet({ port: t.port }, '/admin/sockets/socket', { accept: 'text/plain', ...evil });
      expect([upgrade.status, why.status]).to.deep.equal([403, 403]);
      expect(upgrade.body).to.contain('origin https://evil.example is not allowed');
      expect(why.body).to.contain('origin https://evil.example is not allowed');
      expect((await rawGet({ port: t.port }, '/admin/sockets/socket', { accept: 'text/plain', origin: 'https://app.example' })).status).to.equal(200);
    });

    it('upgradeRefusal answers 404 for a path no route owns, and 503 once the service is closing', async () => {
      const t = await startApp();
      const request = (path: string) => Object.assign(new IncomingMessage(new Socket()), { url: path, headers: { host: 'localhost' } });
      const none = t.app.sockets!.upgradeRefusal(request('/no/such/socket'));
      expect([none?.status, none?.message]).to.deep.equal([404, 'no socket route at /no/such/socket']);
      expect(t.app.sockets!.upgradeRefusal(request('/example/socket'))).to.equal(undefined);
      await t.app.sockets!.close();
      const closing = await rawGet({ port: t.port }, '/admin/sockets/socket', { accept: 'text/plain' });
      expect(closing.status).to.equal(503);
      expect(closing.body).to.contain('server is shutting down');
    });

    it('the plain GET of the admin socket path answers the access refusal, or 200', async () => {
      const t = await startApp();
      const ok = await rawGet({ port: t.port }, '/admin/sockets/socket', { accept: 'text/plain' });
      expect(ok.status).to.equal(200);
      const locked = await startApp({ admin: { token } });
      const refused = await rawGet({ port: locked.port }, '/admin/sockets/socket', { accept: 'text/plain' });
      expect(refused.status).to.equal(401);
      expect(refused.body).to.contain('sign in');
    });

    it('send and publish with count: true say how many connections got the frame', async () => {
      const t = await startApp();
      await exampleClient(t, 'news', { 'user-agent': 'counted' });
      await exampleClient(t, 'news');
      const admin = await adminSocket(t);
      const sent = await admin.request('', 'send', { connId: idOf(t, 'counted'), cmd: 'notice', param: '{"text":"counted"}', count: true });
      expect(sent.param).to.deep.equal({ sent: true, here: 1, elsewhere: 0, missing: [] });
      const published = await admin.request('', 'publish', { channel: 'news', cmd: 'headline', param: '{}', count: true });
      expect(published.param).to.deep.equal({ members: 2, here: 2, elsewhere: 0, missing: [] });
      const nobody = await admin.request('', 'publish', { channel: 'empty-room', cmd: 'headline', param: '{}', count: true });
      expect(nobody.param).to.deep.equal({ members: 0, here: 0, elsewhere: 0, missing: [] });
    });

    it('kick-user closes every tab of the user', async () => {
      const t = await startApp();
      const tab = await exampleClient(t, 'room', { 'user-agent': 'tab-1' });
      const admin = await adminSocket(t);
      const userId = t.app.sockets!.getConnection(idOf(t, 'tab-1'))!.profile.id;
      const reply = await admin.request('', 'kick-user', { userId, reason: 'bye' });
      expect(reply.param).to.deep.equal({ disconnected: 1 });
      expect(await tab.closed).to.deep.equal({ code: 4000, reason: 'bye' });
    });
  });
});
