/**
 * Behind a reverse proxy (TRUST_PROXY) and the admin's lockout of wrong credentials, against a
 * real server and real ws clients. The "proxy" is this test adding X-Forwarded-* headers from
 * 127.0.0.1, which TRUST_PROXY=loopback trusts; without TRUST_PROXY the same headers must be
 * ignored, since anyone can send them.
 */
import { expect } from 'chai';
import { Lockout } from '../admin/lockout';
import type { AppOptions } from '../server/app';
import { ConfigError, loadConfig } from '../server/config';
import { closeAll, connect, refusedUpgrade, sleep, startApp, type TestApp } from './helpers';

const token = 'admin-token-0123456789';
const apiKey = 'api-key-0123456789abcdef';
const forwarded = (ip: string, more: Record<string, string> = {}) => ({ 'x-forwarded-for': ip, ...more });

async function get(t: TestApp, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(t.httpUrl(path), { headers, redirect: 'manual' });
}

/** Remote addresses of the open example connections, as the admin sees them. */
async function addresses(t: TestApp): Promise<string[]> {
  const status = (await (await get(t, '/admin/sockets.json', { authorization: `Bearer ${token}` })).json()) as { connections: Array<{ route: string; remoteAddress: string }> };
  return status.connections.filter((c) => c.route === '/example/socket').map((c) => c.remoteAddress).sort();
}

describe('TRUST_PROXY', () => {
  afterEach(closeAll);

  it('parses a hop count or a list of addresses, ranges and names; refuses true and nonsense', () => {
    expect(loadConfig({}).trustProxy).to.equal(undefined);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).to.equal(undefined);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).to.equal(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8' }).trustProxy).to.deep.equal(['loopback', '10.0.0.0/8', 'fd00::/8']);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).to.throw(ConfigError, /TRUST_PROXY="true": true would believe any X-Forwarded-For/);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.internal' })).to.throw(ConfigError, /TRUST_PROXY="proxy.internal": expected a hop count/);
  });

  it('with trusted proxies: sockets get the forwarded client address, and the per-address cap counts clients, not the proxy', async () => {
    const t = await startApp({ trustProxy: ['loopback'], admin: { token }, socket: { maxConnectionsPerIp: 2 } });
    const url = t.url('/example/socket?ch=proxied');
    await connect(url, { headers: forwarded('203.0.113.7') });
    await connect(url, { headers: forwarded('203.0.113.7') });
    const third = await refusedUpgrade(url, 2000, { headers: forwarded('203.0.113.7') });
    expect(third.status).to.equal(429);
    // Another client behind the same proxy has its own allowance.
    await connect(url, { headers: forwarded('198.51.100.1, 203.0.113.8') });
    expect(await addresses(t)).to.deep.equal(['203.0.113.7', '203.0.113.7', '203.0.113.8']);
  });

  it('with a hop count: the address the trusted hops say, whatever the client wrote before them', async () => {
    const t = await startApp({ trustProxy: 1, admin: { token } });
    await connect(t.url('/example/socket?ch=hops'), { headers: forwarded('10.9.9.9, 198.51.100.20') });
    expect(await addresses(t)).to.deep.equal(['198.51.100.20']);
  });

  it('without TRUST_PROXY: X-Forwarded-For is ignored, so it can neither spoof an address nor dodge the cap', async () => {
    const t = await startApp({ admin: { token }, socket: { maxConnectionsPerIp: 2 } });
    const url = t.url('/example/socket?ch=direct');
    await connect(url, { headers: forwarded('203.0.113.1') });
    await connect(url, { headers: forwarded('203.0.113.2') });
    expect((await refusedUpgrade(url, 2000, { headers: forwarded('203.0.113.3') })).status).to.equal(429);
    expect(await addresses(t)).to.deep.equal(['127.0.0.1', '127.0.0.1']);
  });

  it('marks cookies Secure when a trusted proxy says the client used https, and only then', async () => {
    const secureCookie = async (t: TestApp, headers: Record<string, string>) => (await get(t, '/example', headers)).headers.getSetCookie().find((c) => c.startsWith('wsf_guest='))!;
    const behind = await startApp({ trustProxy: ['loopback'] });
    expect(await secureCookie(behind, forwarded('203.0.113.9', { 'x-forwarded-proto': 'https' }))).to.match(/; Secure/i);
    expect(await secureCookie(behind, forwarded('203.0.113.9', { 'x-forwarded-proto': 'http' }))).not.to.match(/; Secure/i);
    const direct = await startApp({});
    expect(await secureCookie(direct, { 'x-forwarded-proto': 'https' })).not.to.match(/; Secure/i);
  });

  it('closes the loopback-only admin: behind a proxy on this machine, loopback proves nothing', async () => {
    const t = await startApp({ trustProxy: ['loopback'] });
    const res = await get(t, '/admin/sockets.json');
    expect(res.status).to.equal(403);
    expect(await res.text()).to.contain('TRUST_PROXY is set').and.contain('set ADMIN_TOKEN');
    expect((await refusedUpgrade(t.url('/admin/sockets/socket'))).status).to.equal(403);
  });
});

describe('admin lockout', () => {
  afterEach(closeAll);
  const lockedOptions = (more: AppOptions = {}): AppOptions => ({ ...more, admin: { token, apiKey, maxFailures: 3, lockoutMs: 2000, ...more.admin } });
  const bearer = (secret: string, more: Record<string, string> = {}) => ({ authorization: `Bearer ${secret}`, ...more });

  it('refuses an address with 429 and Retry-After after ADMIN_MAX_FAILURES wrong tokens, even the right one, until ADMIN_LOCKOUT_MS passes', async () => {
    const t = await startApp(lockedOptions());
    for (let i = 0; i < 3; i++) expect((await get(t, '/admin/sockets.json', bearer('wrong-token-wrong-token'))).status).to.equal(401);
    const locked = await get(t, '/admin/sockets.json', bearer(token));
    expect(locked.status).to.equal(429);
    expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 2);
    expect(await locked.text()).to.contain('too many wrong admin credentials from 127.0.0.1');
    // The socket and the API are locked for this address too.
    expect((await refusedUpgrade(t.url('/admin/sockets/socket'), 2000, { headers: bearer(token) })).status).to.equal(429);
    expect((await fetch(t.httpUrl('/api/sockets/publish'), { method: 'POST', headers: bearer(apiKey) })).status).to.equal(429);
    await sleep(2100);
    expect((await get(t, '/admin/sockets.json', bearer(token))).status).to.equal(200);
  });

  it('forgets failures after a success, and counts wrong API keys and sign-in forms too', async () => {
    const t = await startApp(lockedOptions());
    for (let i = 0; i < 2; i++) expect((await get(t, '/admin/sockets.json', bearer('wrong-token-wrong-token'))).status).to.equal(401);
    expect((await get(t, '/admin/sockets.json', bearer(token))).status).to.equal(200);
    for (let i = 0; i < 2; i++) expect((await get(t, '/admin/sockets.json', bearer('wrong-token-wrong-token'))).status).to.equal(401);
    expect((await get(t, '/admin/sockets.json', bearer(token))).status).to.equal(200);

    const publish = (key: string) => fetch(t.httpUrl('/api/sockets/publish'), { method: 'POST', headers: bearer(key, { 'content-type': 'application/json' }), body: JSON.stringify({ channel: 'x', cmd: 'note' }) });
    expect((await publish('wrong-api-key-wrong')).status).to.equal(401);
    expect((await publish('wrong-api-key-wrong')).status).to.equal(401);

    // The third failure comes from the sign-in form.
    const formPage = await get(t, '/admin/login');
    const cookie = formPage.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wsforge_csrf='))!;
    const csrf = /name="csrf" value="([^"]*)"/.exec(await formPage.text())![1]!;
    const signIn = (submitted: string) =>
      fetch(t.httpUrl('/admin/login'), { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: submitted, csrf }).toString() });
    expect((await signIn('not-the-admin-token')).status).to.equal(401);
    const locked = await signIn(token);
    expect(locked.status).to.equal(429);
    expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 2);
    expect(await locked.text()).to.contain('too many wrong admin credentials');
    expect((await publish(apiKey)).status).to.equal(429);
  });

  it('locks out one client behind a trusted proxy, not the others', async () => {
    const t = await startApp(lockedOptions({ trustProxy: ['loopback'] }));
    const attacker = forwarded('203.0.113.66');
    for (let i = 0; i < 3; i++) expect((await get(t, '/admin/sockets.json', bearer('wrong-token-wrong-token', attacker))).status).to.equal(401);
    expect((await get(t, '/admin/sockets.json', bearer(token, attacker))).status).to.equal(429);
    expect((await get(t, '/admin/sockets.json', bearer(token, forwarded('198.51.100.2')))).status).to.equal(200);
    // Without TRUST_PROXY the header changes nothing: the lockout holds whatever it says.
    const direct = await startApp(lockedOptions());
    for (let i = 0; i < 3; i++) await get(direct, '/admin/sockets.json', bearer('wrong-token-wrong-token', forwarded(`203.0.113.${i}`)));
    expect((await get(direct, '/admin/sockets.json', bearer(token, forwarded('198.51.100.3')))).status).to.equal(429);
  });

  it('remembers at most maxTracked addresses, dropping the stalest', () => {
    const lockout = new Lockout(1, 60_000, 3);
    for (const a of ['a', 'b', 'c', 'd']) lockout.failed(a);
    expect(['a', 'b', 'c', 'd'].map((a) => lockout.retryAfter(a) > 0)).to.deep.equal([false, true, true, true]);
    lockout.failed('b'); // now the freshest
    lockout.failed('e');
    expect(['b', 'c', 'd', 'e'].map((a) => lockout.retryAfter(a) > 0)).to.deep.equal([true, false, true, true]);
  });
});
