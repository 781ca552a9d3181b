/**
 * Security paths of issue 5 against a real server (createApp on an ephemeral port), real `ws`
 * clients and real jose-signed tokens: authentication at upgrade (HS256 and a JWKS served over
 * HTTP), first-message auth, expiry and refresh (server and the browser Socket), authorize hooks,
 * origin checks, rate limits, caps, and the pages' security headers and CSP (in Chromium).
 *
 * Test routes come in through `features` (below). Every route states `anonymous` explicitly
 * except /s/default, which declares nothing and so requires a credential.
 *
 * Covered elsewhere and not repeated here: channels per connection (`limit_exceeded`) and inbox
 * backpressure (pending requests per connection) in test/service.test.ts ("join beyond
 * maxChannelsPerConnection…", "answers a join beyond maxChannelsPerConnection with
 * limit_exceeded", "inbox backpressure"); the admin socket's credential and origin checks in
 * test/admin.test.ts; hostile frames in test/hostile.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { WebSocket, type ClientOptions } from 'ws';
import { z } from 'zod';
import { Socket } from '../client';
import type { AppOptions } from '../server/app';
import { loadConfig, type Config } from '../server/config';
import type { Feature } from '../server/features/feature';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import type { ChannelAction } from '../server/socket/sockets';
import type { SocketService } from '../server/socket/service';
import { launchBrowser } from './browser';
import { closeAll, connect, eventually, refusedUpgrade, sleep, startApp, TestClient, type TestApp } from './helpers';

// ---------------------------------------------------------------------------------------------
// Tokens

const secret = 'security-test-secret-0123456789-abcdef';
const hsKey = new TextEncoder().encode(secret);
const issuer = 'https://issuer.test';
const audience = 'wsforge-test';

interface TokenOptions {
  sub?: string | null;
  name?: string | null;
  /** Seconds since the epoch, a jose time span ('1h', '-1m'), or null for none. */
  exp?: number | string | null;
  iss?: string | null;
  aud?: string | null;
  nbf?: string;
  extra?: JWTPayload;
  key?: Uint8Array | CryptoKey;
  alg?: string;
  kid?: string;
}

/** A real JWT signed by jose (HS256 with the test secret unless told otherwise). */
function jwt({ sub = 'alice', name = 'Alice', exp = '1h', iss = issuer, aud = audience, nbf, extra = {}, key = hsKey, alg = 'HS256', kid }: TokenOptions = {}): Promise<string> {
  const b = new SignJWT({ ...(name === null ? {} : { name }), ...extra }).setProtectedHeader(kid ? { alg, kid } : { alg }).setIssuedAt();
  if (sub !== null) b.setSubject(sub);
  if (exp !== null) b.setExpirationTime(exp);
  if (iss !== null) b.setIssuer(iss);
  if (aud !== null) b.setAudience(aud);
  if (nbf) b.setNotBefore(nbf);
  return b.sign(key);
}

/** An unsecured token (`alg: none`), which must never be accepted. */
function unsignedJwt(claims: JWTPayload): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** Waits until just after a second boundary, so a token's `exp` (whole seconds) is exactly `seconds` away. */
async function secondBoundary(): Promise<number> {
  await sleep(1000 - (Date.now() % 1000) + 5);
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------------
// Test routes

const secProtocol = defineProtocol({
  client: {
    whoami: z.object({}),
    echo: z.object({ text: z.string() }),
    /** Counts handled frames: the rate limit and authorize tests check what reached the handler. */
    count: z.object({}),
    /** Publishes to the frame's channel. */
    say: z.object({ text: z.string() }),
  },
  server: {
    said: z.object({ from: z.string(), text: z.string() }),
  },
});

/** What the routes' handler and hooks saw. */
class Probe {
  handled = 0;
  readonly authorizeCalls: Array<[connId: string, channel: string, action: ChannelAction]> = [];
}

function securityFeature(probe: Probe): Feature {
  const handler = defineHandler(secProtocol, {
    whoami: (_svc, conn) => ({ ...conn.profile, connId: conn.id }),
    echo: (_svc, _conn, { text }) => ({ text }),
    count: () => ++probe.handled,
    say: (svc, conn, { text }, { channel }) => {
      probe.handled++;
      svc.writeChannel(secProtocol.message(channel, 'said', { from: conn.profile.id, text }));
    },
  });
  // The resolver never sets a profile: it comes from the token (or a guest when anonymous).
  const resolve = (channel: string) => (_req: unknown, url: URL) => ({ channel: url.searchParams.get('ch') ?? channel, handler });
  return ({ sockets }) => {
    if (!sockets) return;
    sockets.route('/s/jwt', resolve('secure'), { anonymous: false });
    sockets.route('/s/anon', resolve('open'), { anonymous: true });
    sockets.route('/s/default', resolve('default'));
    sockets.route('/s/first', resolve('first'), { anonymous: false, authInFirstMessage: true });
    sockets.route('/s/authz', resolve('authz'), {
      anonymous: true,
      // Joins of private-* and publishes to readonly-* are refused.
      authorize: (conn, channel, action) => {
        probe.authorizeCalls.push([conn.id, channel, action]);
        return action === 'join' ? !channel.startsWith('private-') : !channel.startsWith('readonly-');
      },
    });
    sockets.route('/s/limited', resolve('limited'), { anonymous: true, rateLimit: { perSecond: 5, burst: 10 } });
    sockets.route('/s/strict', resolve('strict'), { anonymous: true, rateLimit: { perSecond: 10, burst: 10, maxStrikes: 30 } });
  };
}

let probe: Probe;
let t: TestApp;
let sockets: SocketService;

/** A fresh app with the test routes, HS256 JWT verification (issuer and audience checked) and the given options. */
async function start(socket: Partial<Config['socket']> = {}, options: AppOptions = {}): Promise<TestApp> {
  probe = new Probe();
  t = await startApp({ jwt: { secret, issuer, audience }, socket, features: [securityFeature(probe)], ...options });
  sockets = t.app.sockets!;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Clients

interface Attempt {
  client?: TestClient;
  status?: number;
  body?: string;
}

/** An upgrade that may succeed (client) or be refused (status and body), with subprotocols too. */
function attempt(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<Attempt> {
  const ws = new WebSocket(url, protocols, options);
  const client = new TestClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ client }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('error', (err) => reject(err));
  });
}

/** The three ways to send a token at upgrade. */
const transports: Array<[name: string, send: (url: string, token: string) => Promise<Attempt>]> = [
  ['?token=', (url, token) => attempt(`${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`)],
  ['Authorization: Bearer', (url, token) => attempt(url, [], { headers: { authorization: `Bearer ${token}` } })],
  ['bearer.<token> subprotocol', (url, token) => attempt(url, ['wsforge', `bearer.${token}`])],
];

async function whoami(c: TestClient): Promise<{ id: string; name: string; connId: string }> {
  const answer = await c.request('', 'whoami');
  expect(answer.cmd, JSON.stringify(answer)).to.equal('reply');
  return answer.param;
}

const errorsOf = (c: TestClient, code?: string) => c.frames.filter((f) => f.cmd === 'error' && (code === undefined || f.param.code === code));

/** Browser-style Sockets opened by a test; disconnected after each. */
const sockets_: Socket[] = [];

// ---------------------------------------------------------------------------------------------

describe('security', function () {
  afterEach(async () => {
    for (const s of sockets_.splice(0)) s.disconnect();
    await closeAll();
  });

  describe('authentication at upgrade (HS256)', () => {
    for (const [name, send] of transports) {
      it(`accepts a valid token sent as ${name}; the profile comes from its claims`, async () => {
        await start();
        const { client, status, body } = await send(t.url('/s/jwt'), await jwt({ sub: 'alice', name: 'Alice Liddell' }));
        expect(status, body).to.equal(undefined);
        const me = await whoami(client!);
        expect(me).to.include({ id: 'alice', name: 'Alice Liddell' });
        expect(sockets.getConnection(me.connId)!.profile).to.deep.equal({ id: 'alice', name: 'Alice Liddell' });
        if (name.includes('subprotocol')) expect(client!.ws.protocol, 'selected subprotocol').to.equal('wsforge');
      });
    }

    it('fails the handshake when bearer.<token> is offered without wsforge (the server selects only wsforge)', async () => {
      await start();
      const err = await attempt(t.url('/s/jwt'), [`bearer.${await jwt()}`]).then(
        () => expect.fail('expected the client to fail the handshake'),
        (e: Error) => e,
      );
      expect(err.message).to.match(/subprotocol/i);
      await eventually(() => expect(sockets.getConnections()).to.deep.equal([]));
    });

    it('takes name from preferred_username, else sub; never from ?name=, ?id=, ?user= or ?nickname=', async () => {
      await start();
      const spoof = '&name=Mallory&id=mallory&user=mallory&nickname=Mallory';
      const a = await connect(t.url(`/s/jwt?ch=x${spoof}&token=${await jwt({ sub: 'bob', name: null, extra: { preferred_username: 'bobby' } })}`));
      expect(await whoami(a)).to.include({ id: 'bob', name: 'bobby' });
      const b = await connect(t.url(`/s/jwt?ch=x${spoof}&token=${await jwt({ sub: 'carol', name: null })}`));
      expect(await whoami(b)).to.include({ id: 'carol', name: 'carol' });
      // A built-in route that reads client fields for guests: with a token, the claims win.
      const base = await connect(t.url(`/api/ws?room=lobby${spoof}&token=${await jwt({ sub: 'dave', name: 'Dave' })}`));
      const conn = sockets.getConnections().find((c) => c.route === '/api/ws')!;
      expect(conn.profile).to.deep.equal({ id: 'dave', name: 'Dave' });
      expect(base.isOpen).to.equal(true);
    });

    const refusals: Array<[what: string, token: () => Promise<string> | string, code: RegExp]> = [
      ['malformed (not a JWT)', () => 'not-a-jwt', /ERR_JWS_INVALID|ERR_JWT_INVALID/],
      ['malformed (three garbage parts)', () => 'aaa.bbb.ccc', /ERR_JWS_INVALID|ERR_JWT_INVALID/],
      ['signed with another secret', () => jwt({ key: new TextEncoder().encode('another-secret-0123456789-abcdefghijkl') }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
      ['expired', () => jwt({ exp: '-1m' }), /ERR_JWT_EXPIRED/],
      ['not yet valid (nbf)', () => jwt({ nbf: '10m' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['from another issuer', () => jwt({ iss: 'https://evil.test' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['without an issuer', () => jwt({ iss: null }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['for another audience', () => jwt({ aud: 'someone-else' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['without sub', () => jwt({ sub: null }), /sub claim/],
      ['with an empty sub', () => jwt({ sub: '' }), /sub claim/],
      ['unsigned (alg: none)', () => unsignedJwt({ sub: 'alice', iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 3600 }), /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/],
      ['signed with HS512 (algorithm not allowed)', () => jwt({ alg: 'HS512' }), /ERR_JOSE_ALG_NOT_ALLOWED/],
    ];

    it('refuses every bad token with HTTP 401 over each transport, before any connection exists', async () => {
      await start();
      const before = sockets.counts();
      for (const [what, make, code] of refusals) {
        const token = await make();
        for (const [name, send] of transports) {
          const r = await send(t.url('/s/jwt'), token);
          expect(r.status, `${what} via ${name}`).to.equal(401);
          expect(r.body, `${what} via ${name}`).to.match(code);
        }
      }
      // Missing: nothing at all, an empty ?token=, a non-Bearer Authorization, a bare bearer. subprotocol.
      for (const [what, r] of [
        ['no token', await attempt(t.url('/s/jwt'))],
        ['empty ?token=', await attempt(t.url('/s/jwt?token='))],
        ['Authorization: Basic', await attempt(t.url('/s/jwt'), [], { headers: { authorization: 'Basic YWxpY2U6cHc=' } })],
        ['empty bearer. subprotocol', await attempt(t.url('/s/jwt'), ['wsforge', 'bearer.'])],
      ] as Array<[string, Attempt]>) {
        expect(r.status, what).to.equal(401);
        expect(r.body, what).to.match(/authentication required/);
      }
      expect(sockets.getConnections()).to.deep.equal([]);
      expect(sockets.counts()).to.deep.equal(before);
      expect(probe.handled).to.equal(0);
    });

    it('lets anonymous: true routes in without a token (as a guest), but still refuses a bad token there', async () => {
      await start();
      const c = await connect(t.url('/s/anon'));
      const me = await whoami(c);
      expect(me).to.deep.equal({ id: me.connId, name: `guest-${me.connId.slice(0, 8)}`, connId: me.connId });
      expect((await attempt(t.url(`/s/anon?token=${await jwt({ exp: '-1m' })}`))).status).to.equal(401);
      const withToken = await connect(t.url(`/s/anon?token=${await jwt({ sub: 'erin', name: 'Erin' })}`));
      expect(await whoami(withToken)).to.include({ id: 'erin', name: 'Erin' });
    });

    it('refuses anonymous: false routes with 401 when the server verifies no tokens (no JWT_SECRET or JWT_JWKS_URL)', async () => {
      await start({}, { jwt: undefined });
      const r = await attempt(t.url(`/s/jwt?token=${await jwt()}`));
      expect(r.status).to.equal(401);
      expect(r.body).to.match(/verifies no tokens/);
      expect((await attempt(t.url('/s/jwt'))).status).to.equal(401);
      expect(sockets.getConnections()).to.deep.equal([]);
    });

    it('a route with no options requires a credential', async () => {
      await start();
      const r = await attempt(t.url('/s/default'));
      expect(r.status).to.equal(401);
      expect(r.body).to.match(/authentication required/);
      expect(sockets.getConnections()).to.deep.equal([]);
      const ok = await connect(t.url(`/s/default?token=${await jwt({ sub: 'frank' })}`));
      expect(await whoami(ok)).to.include({ id: 'frank' });
    });
  });

  describe('authentication with a JWKS URL', () => {
    let jwks: Server;
    let jwksFetches: number;
    let jwksDelayMs: number;
    let signing: { privateKey: CryptoKey; publicKey: CryptoKey };

    beforeEach(async () => {
      signing = await generateKeyPair('ES256');
      const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      jwksFetches = 0;
      jwksDelayMs = 0;
      jwks = createServer((_req, res) => {
        jwksFetches++;
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })), jwksDelayMs);
      });
      jwks.listen(0, '127.0.0.1');
      await once(jwks, 'listening');
      const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
      await start({}, { jwt: { jwksUrl, issuer, audience } });
    });
    afterEach(async () => {
      jwks.closeAllConnections();
      await new Promise((resolve) => jwks.close(resolve));
    });

    it('accepts ES256 tokens signed by a key of the set, fetching the set once', async () => {
      const a = await connect(t.url(`/s/jwt?token=${await jwt({ sub: 'alice', key: signing.privateKey, alg: 'ES256', kid: 'k1' })}`));
      expect(await whoami(a)).to.include({ id: 'alice', name: 'Alice' });
      const b = await connect(t.url('/s/jwt'), { headers: { authorization: `Bearer ${await jwt({ sub: 'bob', name: 'Bob', key: signing.privateKey, alg: 'ES256', kid: 'k1' })}` } });
      expect(await whoami(b)).to.include({ id: 'bob', name: 'Bob' });
      expect(jwksFetches).to.equal(1);
    });

    it('refuses with 401 a token signed by another key, with an unknown kid, or HS256 (no algorithm confusion)', async () => {
      const other = await generateKeyPair('ES256');
      const cases: Array<[string, string]> = [
        ['another key, same kid', await jwt({ key: other.privateKey, alg: 'ES256', kid: 'k1' })],
        ['unknown kid', await jwt({ key: other.privateKey, alg: 'ES256', kid: 'k2' })],
        ['HS256 with a secret', await jwt({ kid: 'k1' })],
        ['expired', await jwt({ key: signing.privateKey, alg: 'ES256', kid: 'k1', exp: '-1m' })],
        ['another audience', await jwt({ key: signing.privateKey, alg: 'ES256', kid: 'k1', aud: 'other' })],
      ];
      for (const [what, token] of cases) {
        const r = await attempt(t.url(`/s/jwt?token=${token}`));
        expect(r.status, what).to.equal(401);
        expect(r.body, what).to.match(/invalid token/);
      }
      expect(sockets.getConnections()).to.deep.equal([]);
    });

    it('does not keep a per-address slot for a client that gave up during a slow admission', async () => {
      await t.close();
      const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
      await start({ maxConnectionsPerIp: 1 }, { jwt: { jwksUrl, issuer, audience } });
      jwksDelayMs = 300;
      const token = await jwt({ key: signing.privateKey, alg: 'ES256', kid: 'k1' });
      const quitter = new WebSocket(t.url(`/s/jwt?token=${token}`));
      quitter.on('error', () => {});
      await sleep(100); // admitted, waiting for the key set
      quitter.terminate();
      await sleep(400);
      jwksDelayMs = 0;
      const c = await connect(t.url(`/s/jwt?token=${token}`));
      expect(await whoami(c)).to.include({ id: 'alice' });
      expect(sockets.getConnections()).to.have.length(1);
    });
  });

  describe('authentication in the first message (authInFirstMessage)', () => {
    it('handles an auth frame and the frames sent right after it, in order, after authenticating', async () => {
      await start();
      const c = await connect(t.url('/s/first'));
      // Connected but not authenticated: not in its route channel yet, guest profile.
      const [pending] = sockets.getConnections();
      expect(sockets.getConnectionsByChannel('first')).to.deep.equal([]);
      c.send({ cmd: 'auth', param: { token: await jwt({ sub: 'alice', name: 'Alice' }) }, ref: 'a' });
      c.send({ cmd: 'whoami', ref: 1 });
      c.send({ cmd: 'echo', param: { text: 'after auth' }, ref: 2 });
      c.send({ cmd: 'count', ref: 3 });
      await c.waitFor({ ref: 3 });
      const answers = c.frames.filter((f) => f.ref !== undefined);
      expect(answers.map((f) => [f.ref, f.cmd])).to.deep.equal([
        ['a', 'reply'],
        [1, 'reply'],
        [2, 'reply'],
        [3, 'reply'],
      ]);
      expect(answers[0]!.param.profile).to.deep.equal({ id: 'alice', name: 'Alice' });
      expect(answers[1]!.param).to.include({ id: 'alice', name: 'Alice' });
      expect(answers[2]!.param).to.deep.equal({ text: 'after auth' });
      expect(sockets.getConnectionsByChannel('first')).to.deep.equal([pending]);
      expect(pending!.profile).to.deep.equal({ id: 'alice', name: 'Alice' });
    });

    it('also accepts the token at upgrade (no auth frame needed)', async () => {
      await start();
      const c = await connect(t.url('/s/first'), { headers: { authorization: `Bearer ${await jwt({ sub: 'bob' })}` } });
      expect(await whoami(c)).to.include({ id: 'bob' });
    });

    const wrongFirst: Array<[string, (c: TestClient) => Promise<void> | void]> = [
      ['another cmd', (c) => c.send({ cmd: 'whoami', ref: 1 })],
      ['a refresh', async (c) => c.send({ cmd: 'refresh', param: { token: await jwt() }, ref: 1 })],
      ['invalid JSON', (c) => c.send('{"cmd":"auth",')],
      ['a binary frame', (c) => c.send(Buffer.from([1, 2, 3]))],
    ];
    for (const [what, send] of wrongFirst) {
      it(`closes with 4001 when the first frame is ${what}, handling nothing`, async () => {
        await start();
        const c = await connect(t.url('/s/first'));
        await send(c);
        c.send({ cmd: 'count', ref: 2 });
        expect(await c.closed).to.deep.equal({ code: 4001, reason: 'the first frame must be auth' });
        expect(probe.handled).to.equal(0);
        expect(c.frames.filter((f) => f.cmd === 'reply')).to.deep.equal([]);
      });
    }

    for (const [what, token] of [
      ['a bad token', () => jwt({ key: new TextEncoder().encode('x'.repeat(40)) })],
      ['an expired token', () => jwt({ exp: '-1m' })],
      ['a token that is not a string', () => 42],
    ] as Array<[string, () => unknown]>) {
      it(`answers an auth frame with ${what} with unauthorized, then closes with 4001`, async () => {
        await start();
        const c = await connect(t.url('/s/first'));
        c.send({ cmd: 'auth', param: { token: await token() }, ref: 'a' });
        c.send({ cmd: 'count', ref: 2 });
        const answer = await c.waitFor({ ref: 'a' });
        expect(answer).to.deep.include({ cmd: 'error' });
        expect(answer.param.code).to.equal('unauthorized');
        expect(await c.closed).to.deep.equal({ code: 4001, reason: 'authentication failed' });
        expect(probe.handled).to.equal(0);
      });
    }

    it('closes with 4001 when no frame comes within WS_AUTH_TIMEOUT_MS', async () => {
      await start({ authTimeoutMs: 300 });
      const started = Date.now();
      const c = await connect(t.url('/s/first'));
      expect(await c.closed).to.deep.equal({ code: 4001, reason: 'authentication timeout' });
      expect(Date.now() - started).to.be.within(280, 1500);
      await eventually(() => expect(sockets.getConnections()).to.deep.equal([]));
    });
  });

  describe('token expiry and refresh', () => {
    it('warns with token-expiring WS_TOKEN_WARN_MS before exp, then closes with 4001 at exp', async () => {
      await start({ tokenWarnMs: 1000 });
      const now = await secondBoundary();
      const exp = now + 2;
      const c = await connect(t.url(`/s/jwt?token=${await jwt({ exp })}`));
      const warning = await c.waitFor({ cmd: 'token-expiring' }, 3000);
      const warnedAt = Date.now();
      expect(warning).to.deep.equal({ channel: 'secure', cmd: 'token-expiring', param: { expiresAt: exp * 1000 } });
      expect(warnedAt).to.be.within(exp * 1000 - 1000 - 20, exp * 1000 - 1000 + 300);
      expect(await c.closed).to.deep.equal({ code: 4001, reason: 'token expired' });
      expect(Date.now()).to.be.within(exp * 1000 - 20, exp * 1000 + 400);
    });

    it('keeps the connection open past exp after a refresh with a new token for the same sub', async () => {
      await start({ tokenWarnMs: 1000 });
      const exp = (await secondBoundary()) + 2;
      const c = await connect(t.url(`/s/jwt?token=${await jwt({ sub: 'alice', exp })}`));
      await c.waitFor({ cmd: 'token-expiring' }, 3000);
      const newExp = exp + 3600;
      const reply = await c.request('', 'refresh', { token: await jwt({ sub: 'alice', exp: newExp }) });
      expect(reply).to.deep.include({ cmd: 'reply', param: { expiresAt: newExp * 1000 } });
      await sleep(exp * 1000 - Date.now() + 500);
      expect(c.isOpen).to.equal(true);
      expect(await whoami(c)).to.include({ id: 'alice' });
      expect(c.frames.filter((f) => f.cmd === 'token-expiring')).to.have.length(1);
      expect(sockets.getConnections()[0]!.expiresAt).to.equal(newExp * 1000);
    });

    it('refuses a refresh for another sub (or with a bad token) with unauthorized, and still closes at exp', async () => {
      await start({ tokenWarnMs: 1000 });
      const exp = (await secondBoundary()) + 2;
      const c = await connect(t.url(`/s/jwt?token=${await jwt({ sub: 'alice', exp })}`));
      await c.waitFor({ cmd: 'token-expiring' }, 3000);
      const other = await c.request('', 'refresh', { token: await jwt({ sub: 'mallory', exp: exp + 3600 }) });
      expect(other).to.deep.include({ cmd: 'error' });
      expect(other.param).to.deep.equal({ code: 'unauthorized', message: 'the new token is for another user' });
      const bad = await c.request('', 'refresh', { token: await jwt({ sub: 'alice', exp: exp + 3600, aud: 'other' }) });
      expect(bad.param.code).to.equal('unauthorized');
      const missing = await c.request('', 'refresh', {});
      expect(missing.param.code).to.equal('unauthorized');
      expect(c.isOpen).to.equal(true);
      expect((await c.closed).code).to.equal(4001);
      expect(Date.now()).to.be.at.least(exp * 1000 - 20);
    });

    it('warns once per expiry: a refresh that does not extend the token is accepted without a new warning', async () => {
      await start({ tokenWarnMs: 1000 });
      const exp = (await secondBoundary()) + 2;
      const token = await jwt({ sub: 'alice', exp });
      const c = await connect(t.url(`/s/jwt?token=${token}`));
      await c.waitFor({ cmd: 'token-expiring' }, 3000);
      const reply = await c.request('', 'refresh', { token });
      expect(reply.param).to.deep.equal({ expiresAt: exp * 1000 });
      await sleep(200);
      expect(c.frames.filter((f) => f.cmd === 'token-expiring')).to.have.length(1);
      expect((await c.closed).code).to.equal(4001);
    });
  });

  describe('browser-style Socket client (client/socket.ts) in Node', () => {
    it('with a token function: sends it as a subprotocol, refreshes on token-expiring and stays connected past the first exp', async () => {
      await start({ tokenWarnMs: 1000 });
      const exp = (await secondBoundary()) + 2;
      const issued: number[] = [];
      const closes: number[] = [];
      const errors: string[] = [];
      let opens = 0;
      const socket = new Socket({
        url: t.url('/s/jwt'),
        WebSocket,
        token: () => {
          const e = issued.length === 0 ? exp : Math.floor(Date.now() / 1000) + 3600;
          issued.push(e);
          return jwt({ sub: 'alice', exp: e });
        },
        onOpen: () => opens++,
        onClose: (code) => closes.push(code),
        onError: (service, error) => errors.push(`${service}: ${error}`),
      });
      sockets_.push(socket);
      await eventually(() => expect(socket.connected).to.equal(true), 3000);
      const first = (await socket.request('', 'whoami', {})) as { id: string; connId: string };
      expect(first.id).to.equal('alice');
      await sleep(exp * 1000 - Date.now() + 700);
      expect(issued, 'tokens asked for').to.have.length(2);
      expect(closes, 'closes').to.deep.equal([]);
      expect(opens).to.equal(1);
      expect(errors).to.deep.equal([]);
      const again = (await socket.request('', 'whoami', {})) as { id: string; connId: string };
      expect(again.connId, 'same connection').to.equal(first.connId);
      expect(sockets.getConnection(first.connId)!.expiresAt).to.equal(issued[1]! * 1000);
    });

    it('with a static token: does not reconnect after 4001', async () => {
      await start({ tokenWarnMs: 500 });
      const exp = (await secondBoundary()) + 1;
      const closes: Array<[number, number | undefined]> = [];
      const socket = new Socket({
        url: t.url('/s/jwt'),
        WebSocket,
        token: await jwt({ exp }),
        onClose: (code, _reason, retryInMs) => closes.push([code, retryInMs]),
        onError: () => {},
      });
      sockets_.push(socket);
      await eventually(() => expect(closes).to.deep.equal([[4001, undefined]]), 3000);
      await sleep(300);
      expect(sockets.getConnections()).to.deep.equal([]);
    });

    it('with authInFirstMessage: sends the token in an auth frame first', async () => {
      await start();
      const socket = new Socket({ url: t.url('/s/first'), WebSocket, token: () => jwt({ sub: 'grace', name: 'Grace' }), authInFirstMessage: true });
      sockets_.push(socket);
      const me = (await socket.request('', 'whoami', {})) as { id: string; name: string };
      expect(me).to.include({ id: 'grace', name: 'Grace' });
    });
  });

  describe('authorization (route authorize hook)', () => {
    it('answers denied joins and publishes with forbidden; nothing else happens', async () => {
      await start();
      const c = await connect(t.url('/s/authz'));
      const me = await whoami(c);
      const watcher = await connect(t.url('/s/authz'));
      const watcherId = (await whoami(watcher)).connId;
      // Both are in readonly-1 (joined server-side); the watcher is also in private-x, where it
      // would see an online-update if c's join happened.
      await sockets.join(me.connId, 'readonly-1');
      await sockets.join(watcherId, 'readonly-1');
      await sockets.join(watcherId, 'private-x');
      await c.sync();
      const channelsBefore = sockets.counts().channels;
      const watcherMark = watcher.frames.length;
      const handledBefore = probe.handled;

      const join = await c.request('private-x', 'join');
      expect(join).to.deep.include({ channel: 'private-x', cmd: 'error' });
      expect(join.param).to.deep.equal({ code: 'forbidden', message: 'not allowed to join channel "private-x"' });
      const publish = await c.request('readonly-1', 'say', { text: 'hi' });
      expect(publish.param).to.deep.equal({ code: 'forbidden', message: 'not allowed to publish channel "readonly-1"' });
      c.send({ channel: 'readonly-1', cmd: 'say', param: { text: 'no ref' } });
      await c.sync();

      expect(probe.handled, 'handler calls').to.equal(handledBefore);
      expect([...sockets.getConnection(me.connId)!.channels]).to.deep.equal(['authz', 'readonly-1']);
      expect(sockets.counts().channels).to.equal(channelsBefore);
      expect(sockets.getConnectionsByChannel('private-x').map((x) => x.id)).to.deep.equal([watcherId]);
      await watcher.sync();
      expect(watcher.since(watcherMark), 'frames the other member got').to.deep.equal([]);
      expect(errorsOf(c, 'forbidden')).to.have.length(3);
      expect(probe.authorizeCalls).to.deep.include.members([
        [me.connId, 'private-x', 'join'],
        [me.connId, 'readonly-1', 'publish'],
      ]);

      // Allowed: a public join, then publishing there.
      expect((await c.request('public-x', 'join')).param).to.deep.equal({ created: true });
      expect((await c.request('public-x', 'say', { text: 'hello' })).cmd).to.equal('reply');
      expect(await c.waitFor({ cmd: 'said' })).to.deep.include({ channel: 'public-x', param: { from: me.id, text: 'hello' } });
      expect(probe.handled).to.equal(handledBefore + 1);
    });
  });

  describe('origin policy', () => {
    it('default: same origin and localhost allowed, no Origin allowed, foreign origins refused with 403 before auth', async () => {
      await start();
      const token = await jwt();
      const url = t.url(`/s/jwt?token=${token}`);
      const before = sockets.counts();
      for (const origin of ['https://evil.example', 'http://127.0.0.1.evil.example', 'null', `http://127.0.0.1:${t.port}.evil.example`]) {
        const r = await refusedUpgrade(url, 2000, { origin });
        expect(r.status, origin).to.equal(403);
        expect(r.body, origin).to.match(/not allowed/);
      }
      // 403 comes before authentication: no token needed to be refused, and none is checked.
      expect((await refusedUpgrade(t.url('/s/jwt'), 2000, { origin: 'https://evil.example' })).status).to.equal(403);
      expect(sockets.getConnections()).to.deep.equal([]);
      expect(sockets.counts()).to.deep.equal(before);
      for (const origin of [`http://127.0.0.1:${t.port}`, 'http://localhost:3000', 'http://[::1]:8080', undefined]) {
        const c = await connect(url, origin ? { origin } : {});
        expect(await whoami(c), String(origin)).to.include({ id: 'alice' });
      }
    });

    it('WS_ALLOWED_ORIGINS lets listed origins in, others still get 403', async () => {
      const cfg = loadConfig({ WS_ALLOWED_ORIGINS: 'https://app.example, https://admin.example' });
      expect(cfg.allowedOrigins).to.deep.equal(['https://app.example', 'https://admin.example']);
      await start({}, { allowedOrigins: cfg.allowedOrigins });
      const url = t.url(`/s/jwt?token=${await jwt()}`);
      await connect(url, { origin: 'https://app.example' });
      await connect(url, { origin: 'https://admin.example' });
      expect((await refusedUpgrade(url, 2000, { origin: 'https://app.example.evil' })).status).to.equal(403);
      expect((await refusedUpgrade(url, 2000, { origin: 'http://app.example' })).status).to.equal(403);
    });

    it('NODE_ENV=production: localhost origins are refused unless they are the Host', async () => {
      const cfg = loadConfig({ NODE_ENV: 'production' });
      expect(cfg.allowLocalhostOrigins).to.equal(false);
      expect(loadConfig({}).allowLocalhostOrigins).to.equal(true);
      await start({}, { allowLocalhostOrigins: false });
      const url = t.url(`/s/jwt?token=${await jwt()}`);
      for (const origin of ['http://localhost:3000', `http://localhost:${t.port}`, 'http://127.0.0.1:1']) {
        expect((await refusedUpgrade(url, 2000, { origin })).status, origin).to.equal(403);
      }
      await connect(url, { origin: `http://127.0.0.1:${t.port}` });
      await connect(url);
    });
  });

  describe('rate limit', () => {
    it('default 50/s, burst 100: 300 frames at once get the burst handled and ~200 rate_limited errors', async () => {
      await start();
      const c = await connect(t.url('/s/anon'));
      for (let i = 0; i < 300; i++) c.send({ cmd: 'count', ref: i });
      await c.waitFor({ ref: 299 }, 3000);
      const answers = c.frames.filter((f) => typeof f.ref === 'number');
      const limited = answers.filter((f) => f.cmd === 'error' && f.param.code === 'rate_limited');
      const replies = answers.filter((f) => f.cmd === 'reply');
      expect(answers, 'one answer per frame').to.have.length(300);
      expect(probe.handled, 'frames handled').to.equal(replies.length).and.be.within(100, 103);
      expect(limited.length).to.equal(300 - replies.length);
      expect(replies.map((f) => f.ref).slice(0, 100), 'the first 100 are the burst').to.deep.equal([...Array(100).keys()]);
      expect(limited[0]!.param.message).to.match(/not handled/);
      expect(c.isOpen).to.equal(true);
      // The budget refills at 50/s.
      await sleep(1000);
      const mark = probe.handled;
      for (let i = 0; i < 40; i++) c.send({ cmd: 'count' });
      await c.sync();
      expect(probe.handled - mark).to.equal(40);
    });

    it('closes a client that keeps flooding with 1008, while a well-behaved client on the same server is unaffected', async () => {
      await start();
      const good = await connect(t.url('/s/anon?ch=good'));
      const flooder = await connect(t.url('/s/anon?ch=flood'));
      let sent = 0;
      const flood = (async () => {
        while (flooder.isOpen && sent < 20_000) {
          for (let i = 0; i < 100; i++) flooder.send({ cmd: 'count' });
          sent += 100;
          await sleep(1);
        }
      })();
      const rtts: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const answer = await good.request('', 'echo', { text: String(i) });
        rtts.push(performance.now() - started);
        expect(answer.cmd, JSON.stringify(answer)).to.equal('reply');
        await sleep(20);
      }
      expect(await flooder.closed).to.deep.equal({ code: 1008, reason: 'rate limit exceeded' });
      await flood;
      expect(probe.handled, 'flood frames handled').to.be.at.most(110);
      expect(errorsOf(good)).to.deep.equal([]);
      expect(good.isOpen).to.equal(true);
      expect(Math.max(...rtts), 'well-behaved round trips (ms)').to.be.below(250);
    });

    it('closes a client that paces its flood (5× its budget, a few frames at a time) with 1008; one at 1.5× is only refused', async () => {
      await start();
      const pacer = await connect(t.url('/s/strict?ch=pacer'));
      const steady = await connect(t.url('/s/strict?ch=steady'));
      const started = Date.now();
      let tick = 0;
      const timer = setInterval(() => {
        tick++;
        for (let i = 0; i < 5; i++) pacer.send({ cmd: 'count' }); // 50/s against 10/s
        if (tick % 2 === 0) for (let i = 0; i < 3; i++) steady.send({ cmd: 'count' }); // 15/s
      }, 100);
      try {
        expect(await pacer.closed).to.deep.equal({ code: 1008, reason: 'rate limit exceeded' });
        expect(Date.now() - started, 'time to close (ms)').to.be.below(3000);
        await sleep(1500);
        expect(steady.isOpen, 'the client at 1.5× its budget').to.equal(true);
        expect(errorsOf(steady, 'rate_limited').length).to.be.above(0);
      } finally {
        clearInterval(timer);
      }
    });

    it('honours a per-route override (5/s, burst 10)', async () => {
      await start();
      const c = await connect(t.url('/s/limited'));
      for (let i = 0; i < 30; i++) c.send({ cmd: 'count', ref: i });
      await c.waitFor({ ref: 29 });
      expect(probe.handled).to.equal(10);
      expect(errorsOf(c, 'rate_limited')).to.have.length(20);
      await sleep(1000);
      for (let i = 0; i < 10; i++) c.send({ cmd: 'count' });
      await sleep(100);
      expect(probe.handled - 10, 'after a second at 5/s').to.be.within(5, 6);
    });

    it('reads WS_RATE_LIMIT_PER_SECOND, _BURST and _STRIKES', () => {
      expect(loadConfig({ WS_RATE_LIMIT_PER_SECOND: '2.5', WS_RATE_LIMIT_BURST: '7', WS_RATE_LIMIT_STRIKES: '9' }).socket.rateLimit).to.deep.equal({ perSecond: 2.5, burst: 7, maxStrikes: 9 });
      expect(loadConfig({}).socket.rateLimit).to.deep.equal({ perSecond: 50, burst: 100, maxStrikes: 250 });
    });
  });

  describe('caps', () => {
    it('WS_MAX_CONNECTIONS_PER_IP: the next connection gets HTTP 429, and one is let in again after one closes', async () => {
      await start({ maxConnectionsPerIp: 2 });
      const a = await connect(t.url('/s/anon'));
      await connect(t.url('/s/anon'));
      const refused = await refusedUpgrade(t.url('/s/anon'));
      expect(refused.status).to.equal(429);
      expect(refused.body).to.match(/WS_MAX_CONNECTIONS_PER_IP=2/);
      expect(sockets.getConnections()).to.have.length(2);
      await a.close();
      await eventually(() => expect(sockets.getConnections()).to.have.length(1));
      await connect(t.url('/s/anon'));
      expect((await refusedUpgrade(t.url('/s/anon'))).status).to.equal(429);
    });

    it('WS_MAX_CONNECTIONS_PER_IP holds for simultaneous upgrades that authenticate asynchronously', async () => {
      await start({ maxConnectionsPerIp: 3 });
      const tokens = await Promise.all(Array.from({ length: 12 }, (_, i) => jwt({ sub: `u${i}` })));
      const results = await Promise.all(tokens.map((token) => attempt(t.url('/s/jwt'), [], { headers: { authorization: `Bearer ${token}` } })));
      expect(results.filter((r) => r.client).length, 'connected').to.equal(3);
      expect(results.filter((r) => r.status === 429).length, 'refused with 429').to.equal(9);
      expect(sockets.getConnections()).to.have.length(3);
    });

    it('does not count refused upgrades against WS_MAX_CONNECTIONS_PER_IP', async () => {
      await start({ maxConnectionsPerIp: 2 });
      for (let i = 0; i < 5; i++) expect((await attempt(t.url(`/s/jwt?token=${await jwt({ exp: '-1m' })}`))).status).to.equal(401);
      for (let i = 0; i < 5; i++) expect((await attempt(t.url('/s/anon?ch='))).status).to.equal(400);
      await connect(t.url('/s/anon'));
      await connect(t.url(`/s/jwt?token=${await jwt()}`));
      expect((await refusedUpgrade(t.url('/s/anon'))).status).to.equal(429);
    });
  });

  describe('pages', () => {
    it('GET / and /example send helmet headers and a CSP without inline scripts; the HTML has no inline script', async () => {
      await start();
      for (const path of ['/', '/example', '/examples']) {
        const res = await fetch(t.httpUrl(path));
        expect(res.status, path).to.equal(200);
        const csp = res.headers.get('content-security-policy') ?? '';
        const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
        expect(directives.get('script-src'), `${path} script-src`).to.deep.equal(["'self'"]);
        expect(directives.get('default-src'), `${path} default-src`).to.deep.equal(["'self'"]);
        expect(directives.get('object-src')).to.deep.equal(["'none'"]);
        expect(directives.get('frame-ancestors')).to.deep.equal(["'none'"]);
        expect(directives.get('connect-src')).to.deep.equal(["'self'"]);
        expect(csp).to.not.match(/script-src[^;]*'unsafe-(inline|eval)'/);
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
        expect(res.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
        expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
        expect(res.headers.get('x-powered-by')).to.equal(null);
        const body = await res.text();
        expect(body.match(/<script(?![^>]*\bsrc=)[^>]*>/g), `${path}: inline <script>`).to.equal(null);
        expect(body.match(/\son[a-z]+\s*=/gi), `${path}: inline event handlers`).to.equal(null);
      }
    });

    it('the /example page works under the CSP in Chromium with no violation (its WebSocket connects: connect-src covers ws:)', async function () {
      this.timeout(60_000);
      execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
      await start();
      const browser = await launchBrowser();
      try {
        const context = await browser.newContext();
        // Recorded before any page script runs.
        await context.addInitScript(() => {
          (window as unknown as { cspViolations: string[] }).cspViolations = [];
          document.addEventListener('securitypolicyviolation', (e) =>
            (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
          );
        });
        const page = await context.newPage();
        const console_: string[] = [];
        page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
        const res = await page.goto(t.httpUrl('/example?ch=csp-room'));
        expect(res!.headers()['content-security-policy']).to.contain("script-src 'self'");
        await page.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
        await page.click('#ping');
        await page.locator('#log li', { hasText: /^ping: \d+ ms round trip$/ }).waitFor();
        expect(sockets.getConnectionsByChannel('csp-room')).to.have.length(1);
        // An inline script injected into the page is blocked: the CSP is in force.
        const blocked = await page.evaluate(() => {
          const s = document.createElement('script');
          s.textContent = 'window.inlineRan = true';
          document.body.append(s);
          return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
        });
        expect(blocked, 'inline script ran').to.equal(false);
        const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
        expect(violations.filter((v) => !v.startsWith('script-src-elem inline')), 'CSP violations before the injected script').to.deep.equal([]);
        expect(violations, 'the injected inline script was reported').to.have.length(1);
        expect(console_.filter((l) => !/inline script/.test(l)), 'console besides the injected script').to.deep.equal([]);
        expect(console_.filter((l) => /inline script/.test(l)), 'the injected script was refused').to.have.length(1);
        await context.close();
      } finally {
        await browser.close();
      }
    });
  });
});

