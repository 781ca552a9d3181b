/**
 * Retry-safe frames (docs/protocol.md, "Retry-safe frames"): a frame with an `id` runs once per
 * user within WS_DEDUPE_TTL_MS, however often it is sent and on whichever connection; every copy
 * gets the first run's answer. On a real server with real ws clients, and the Socket client's
 * `request(…, { retry: true })` across an outage and a dropped connection.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { attachSockets, defineHandler, defineProtocol, SocketError, z, type Sockets } from '../server';
import { Redis } from 'ioredis';
import { RedisLedger } from '../server/cluster/redis-ledger';
import { Dedupe } from '../server/socket/dedupe';
import { RequestError, Socket } from '../client';
import { RedisServer } from './cluster/processes';
import { closeAll, connect, sleep } from './helpers';

const proto = defineProtocol({
  client: {
    work: z.object({ delay: z.number().optional(), drop: z.boolean().optional(), fail: z.boolean().optional() }),
  },
  server: {},
  replies: { work: z.object({ run: z.number(), user: z.string() }) },
});

interface Host {
  port: number;
  runs: number;
  url(user: string): string;
  close(): Promise<void>;
}

const hosts: Host[] = [];

async function host(limits: { dedupeTtlMs?: number; dedupeMaxIds?: number } = {}, port = 0, redis?: { url: string; prefix: string }): Promise<Host> {
  const server: Server = createServer();
  const sockets: Sockets = attachSockets(server, { limits, redis });
  const h: Host = {
    port: 0,
    runs: 0,
    url: (user) => `ws://127.0.0.1:${h.port}/dd?user=${user}`,
    close: async () => {
      await sockets.close();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const handler = defineHandler(proto, {
    work: async (_svc, session, { delay, drop, fail }) => {
      const run = ++h.runs;
      // The connection goes away while the handler is still running: its answer cannot come there.
      if (drop) session.close(1012, 'test drop');
      if (delay) await sleep(delay);
      if (fail) throw new SocketError('nope', `refused on run ${run}`);
      return { run, user: session.profile.id };
    },
  });
  sockets.route('/dd', (_req, url) => ({ channel: 'dd', profile: { id: url.searchParams.get('user')!, name: 'u' }, handler }), { anonymous: true });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  h.port = (server.address() as AddressInfo).port;
  hosts.push(h);
  return h;
}

describe('retry-safe frames (id)', function () {
  this.timeout(10_000);
  // Inside the suite: a root-level hook would close every other suite's apps after each of their tests.
  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.close();
    await closeAll();
  });

  it('a retry after a reconnect, while the first run is still going, waits for it: one run, both copies get its answer', async () => {
    const h = await host();
    const first = await connect(h.url('ann'));
    first.send({ channel: '', cmd: 'work', param: { delay: 300 }, ref: 1, id: 'msg-1' });
    await sleep(50);
    first.ws.terminate(); // the network dies before the answer
    const second = await connect(h.url('ann'));
    second.send({ channel: '', cmd: 'work', param: { delay: 300 }, ref: 9, id: 'msg-1' });
    const reply = await second.waitFor({ ref: 9 }, 3000);
    expect(reply.cmd).to.equal('reply');
    expect(reply.param).to.deep.equal({ run: 1, user: 'ann' });
    // Later copies, on this connection or another, get the same answer without a run.
    second.send({ channel: '', cmd: 'work', param: {}, ref: 10, id: 'msg-1' });
    expect((await second.waitFor({ ref: 10 })).param).to.deep.equal({ run: 1, user: 'ann' });
    const third = await connect(h.url('ann'));
    third.send({ channel: '', cmd: 'work', param: {}, ref: 1, id: 'msg-1' });
    expect((await third.waitFor({ ref: 1 })).param).to.deep.equal({ run: 1, user: 'ann' });
    expect(h.runs).to.equal(1);
  });

  it('both copies on live connections get the one answer; an error is kept too; ids are per user', async () => {
    const h = await host();
    const a = await connect(h.url('ann'));
    const b = await connect(h.url('ann'));
    a.send({ channel: '', cmd: 'work', param: { delay: 100 }, ref: 1, id: 'x' });
    b.send({ channel: '', cmd: 'work', param: { delay: 100 }, ref: 2, id: 'x' });
    const [ra, rb] = await Promise.all([a.waitFor({ ref: 1 }), b.waitFor({ ref: 2 })]);
    expect(ra.param).to.deep.equal({ run: 1, user: 'ann' });
    expect(rb.param).to.deep.equal({ run: 1, user: 'ann' });
    // Another user's same id is another frame.
    const c = await connect(h.url('bob'));
    c.send({ channel: '', cmd: 'work', param: {}, ref: 1, id: 'x' });
    expect((await c.waitFor({ ref: 1 })).param).to.deep.equal({ run: 2, user: 'bob' });
    // A failed run answers its error again, without running again.
    a.send({ channel: '', cmd: 'work', param: { fail: true }, ref: 3, id: 'f' });
    a.send({ channel: '', cmd: 'work', param: { fail: true }, ref: 4, id: 'f' });
    const [e3, e4] = await Promise.all([a.waitFor({ ref: 3 }), a.waitFor({ ref: 4 })]);
    expect(e3.cmd).to.equal('error');
    expect(e4.param).to.deep.equal(e3.param);
    expect(e3.param).to.deep.equal({ code: 'nope', message: 'refused on run 3' });
    // Without an id, nothing changes: every frame runs.
    a.send({ channel: '', cmd: 'work', param: {}, ref: 5 });
    a.send({ channel: '', cmd: 'work', param: {}, ref: 6 });
    expect((await a.waitFor({ ref: 6 })).param).to.deep.equal({ run: 5, user: 'ann' });
    expect(h.runs).to.equal(5);
  });

  it('is bounded: ids over 64 characters or not strings are invalid_frame; the oldest id past WS_DEDUPE_MAX_IDS, and ids older than WS_DEDUPE_TTL_MS, are forgotten', async () => {
    const h = await host({ dedupeTtlMs: 400, dedupeMaxIds: 2 });
    const a = await connect(h.url('ann'));
    a.send({ channel: '', cmd: 'work', param: {}, ref: 1, id: 'i'.repeat(65) });
    a.send({ channel: '', cmd: 'work', param: {}, ref: 2, id: 7 });
    a.send({ channel: '', cmd: 'work', param: {}, ref: 3, id: '' });
    for (const ref of [1, 2, 3]) expect((await a.waitFor({ ref })).param.code).to.equal('invalid_frame');
    expect(h.runs).to.equal(0);
    let ref = 10;
    const run = async (id: string) => {
      const r = ++ref;
      a.send({ channel: '', cmd: 'work', param: {}, ref: r, id });
      return (await a.waitFor({ ref: r })).param.run as number;
    };
    expect(await run('i'.repeat(64))).to.equal(1);
    expect(await run('b')).to.equal(2);
    expect(await run('b')).to.equal(2);
    expect(await run('c')).to.equal(3); // pushes out the 64-character id (2 per user)
    expect(await run('i'.repeat(64))).to.equal(4);
    expect(await run('c')).to.equal(3);
    await sleep(500); // past the TTL
    expect(await run('c')).to.equal(5);
  });

  it('Dedupe keeps memory bounded per user and over time, and keeps a running id until it is done', async () => {
    const d = new Dedupe({ ttlMs: 50, maxIds: 3, pollMs: 50 });
    for (let i = 0; i < 10; i++) d.run('u', `id${i}`, () => i);
    expect(d.size).to.equal(3);
    let finish!: (v: string) => void;
    const slow = d.run('v', 'slow', () => new Promise<string>((resolve) => (finish = resolve)));
    await sleep(80);
    d.run('w', 'tick', () => 0); // any call sweeps what expired
    expect(d.size).to.equal(2); // u's are gone; v's running one is kept
    let again = 0;
    const copy = d.run('v', 'slow', () => ++again);
    finish('done');
    expect(await slow).to.equal('done');
    expect(await copy).to.equal('done');
    expect(again).to.equal(0);
    expect(new Dedupe({ ttlMs: 0, maxIds: 1, pollMs: 50 }).run('u', 'a', () => 1)).to.equal(1);
  });

  it('a retry ledger that cannot be reached: the frame runs, this node alone guards its retries, and the log says so', async () => {
    // A port nothing listens on, and a real ioredis client that fails at once instead of queueing.
    const probe = createTcpServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const redis = new Redis({ port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      const d = new Dedupe({ ttlMs: 1000, maxIds: 8, pollMs: 10, ledger: new RedisLedger(redis, (k) => `t:${k}`) });
      const warnings: string[] = [];
      const log = { warn: (_fields: unknown, message: string) => void warnings.push(message) };
      let runs = 0;
      expect(await d.run('u', 'a', () => ++runs, log)).to.equal(1);
      expect(await d.run('u', 'a', () => ++runs, log)).to.equal(1);
      expect(runs).to.equal(1);
      expect(warnings).to.deep.equal(['retry ledger unreachable: the frame runs, guarded by this node alone']);
    } finally {
      redis.disconnect();
    }
  });

  it('Socket request({ retry: true }): made while the server is down, answered once it is up, however long that took; no false timeout', async () => {
    const probe = await host();
    const port = probe.port;
    await probe.close();
    hosts.splice(hosts.indexOf(probe), 1);
    const socket = new Socket<typeof proto>({ url: `ws://127.0.0.1:${port}/dd?user=ann`, WebSocket, backoff: { base: 50, cap: 100 }, onError: () => {} });
    try {
      const answer = socket.request('', 'work', {}, { retry: true, timeout: 300 });
      await sleep(700); // longer than the timeout, all of it offline
      const h = await host({}, port);
      expect(await answer).to.deep.equal({ run: 1, user: 'ann' });
      expect(h.runs).to.equal(1);
    } finally {
      socket.disconnect();
    }
  });

  it('Socket request({ retry: true }): its connection drops while the handler runs; re-sent after the reconnect, it runs once and resolves with that run', async () => {
    const h = await host();
    const socket = new Socket<typeof proto>({ url: h.url('ann'), WebSocket, backoff: { base: 50, cap: 100 }, onError: () => {} });
    try {
      const reply = await socket.request('', 'work', { drop: true, delay: 300 }, { retry: true, timeout: 5000 });
      expect(reply).to.deep.equal({ run: 1, user: 'ann' });
      expect(h.runs).to.equal(1);
      // And a plain request is as before: one try.
      expect(await socket.request('', 'work', {})).to.deep.equal({ run: 2, user: 'ann' });
      // A retry-safe request rejects, with why, when the socket closes for good.
      const pending = socket.request('', 'work', { delay: 500 }, { retry: true });
      socket.disconnect();
      const err = await pending.then(() => undefined, (e: RequestError) => e);
      expect(err).to.be.instanceOf(RequestError);
      expect(err!.code).to.equal('disconnected');
    } finally {
      socket.disconnect();
    }
  });
});

describe('retry-safe frames across the nodes of a cluster (the retry ledger in Redis)', function () {
  this.timeout(20_000);
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    for (const h of hosts.splice(0)) await h.close();
    await closeAll();
    await redis?.kill();
  });

  it('a retry reaching another node runs nothing: it waits for the first node’s run and gets its answer, an error too', async () => {
    const cluster = { url: redis.url, prefix: `dd${Date.now().toString(36)}:` };
    const [a, b] = [await host({}, 0, cluster), await host({}, 0, cluster)];
    const first = await connect(a.url('ann'));
    first.send({ channel: '', cmd: 'work', param: { delay: 400 }, ref: 1, id: 'm-1' });
    await sleep(100);
    first.ws.terminate(); // the answer cannot come back; the page reconnects through the balancer to node b
    const retry = await connect(b.url('ann'));
    retry.send({ channel: '', cmd: 'work', param: { delay: 400 }, ref: 7, id: 'm-1' });
    const reply = await retry.waitFor({ ref: 7 }, 5000);
    expect(reply).to.deep.include({ cmd: 'reply', param: { run: 1, user: 'ann' } });
    expect([a.runs, b.runs]).to.deep.equal([1, 0]);
    // Once recorded, any node answers at once; an error outcome travels the same way.
    const c = await connect(b.url('ann'));
    c.send({ channel: '', cmd: 'work', param: { fail: true }, ref: 2, id: 'f-1' });
    expect((await c.waitFor({ ref: 2 })).param).to.deep.equal({ code: 'nope', message: 'refused on run 1' });
    const d = await connect(a.url('ann'));
    d.send({ channel: '', cmd: 'work', param: { fail: true }, ref: 3, id: 'f-1' });
    d.send({ channel: '', cmd: 'work', param: {}, ref: 4, id: 'm-1' });
    expect((await d.waitFor({ ref: 3 })).param).to.deep.equal({ code: 'nope', message: 'refused on run 1' });
    expect((await d.waitFor({ ref: 4 })).param).to.deep.equal({ run: 1, user: 'ann' });
    // Another user's same id is another frame, on any node.
    const e = await connect(b.url('bob'));
    e.send({ channel: '', cmd: 'work', param: {}, ref: 1, id: 'm-1' });
    expect((await e.waitFor({ ref: 1 })).param).to.deep.equal({ run: 2, user: 'bob' });
    expect([a.runs, b.runs]).to.deep.equal([1, 2]);
  });
});
