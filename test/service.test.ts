/**
 * SocketService against a real server (createApp on an ephemeral port) and real ws clients.
 * Test routes come in through `features`: /t (profile from ?user=&name=, channel from ?ch=),
 * /t/binary (opts into binary), /t/quiet (like /t, with presenceUpdates off), /t/auth (401) and
 * /t/crash (resolver throws).
 */
import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import type { ClientOptions } from 'ws';
import { z } from 'zod';
import type { AppOptions } from '../server/app';
import { ConfigError, loadConfig, type Config } from '../server/config';
import type { Feature } from '../server/features/feature';
import type { Connection } from '../server/socket/connection';
import { SocketError } from '../server/socket/errors';
import { defineHandler, type Commands } from '../server/socket/handler';
import type { Ref } from '../server/socket/message';
import { defineProtocol } from '../server/socket/protocol';
import { HttpError } from '../server/socket/http-error';
import type { SocketService } from '../server/socket/service';
import { examplePage } from '../views/example';
import { html, safe } from '../views/html';
import { closeAll, connect, eventually, refusedUpgrade, sleep, startApp, within, type Frame, type TestApp, type TestClient } from './helpers';

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A promise the test opens when it wants a held handler to go on. */
class Gate {
  open!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.open = resolve));
}

/** What the test handlers record, and the gates that hold them. */
class Probe {
  readonly events: string[] = [];
  readonly gate = new Gate();
  /** When set, onClose waits for it. */
  closeGate?: Gate;
}

const testProtocol = defineProtocol({
  client: {
    echo: z.object({ text: z.string() }),
    whoami: z.object({}),
    nothing: z.object({}),
    /** Async with a random delay; records when it starts and ends. */
    step: z.object({ seq: z.number().int() }),
    /** Async; waits for the probe's gate. */
    hold: z.object({ seq: z.number().int() }),
    fail: z.object({ kind: z.enum(['socket', 'plain']) }),
  },
  server: {},
});

function testFeature(probe: Probe): Feature {
  const commands: Commands<typeof testProtocol> = {
    echo: (_svc, _conn, { text }) => ({ text }),
    whoami: (_svc, conn) => conn.id,
    nothing: () => undefined,
    step: async (_svc, _conn, { seq }) => {
      probe.events.push(`start ${seq}`);
      await sleep(Math.random() * 8);
      probe.events.push(`end ${seq}`);
      return { seq };
    },
    hold: async (_svc, _conn, { seq }) => {
      probe.events.push(`hold ${seq}`);
      await probe.gate.promise;
      return { seq };
    },
    fail: (_svc, _conn, { kind }) => {
      if (kind === 'socket') throw new SocketError('custom_failure', 'the thing failed');
      throw new Error('secret: the database password is hunter2');
    },
  };
  const handler = defineHandler(testProtocol, commands, {
    onClose: async () => {
      await probe.closeGate?.promise;
    },
  });
  const binaryHandler = defineHandler(testProtocol, commands, {
    onBinary: (svc, conn, data) => svc.writeConnection(conn.id, { channel: conn.channel, cmd: 'binary-received', param: { bytes: data.length, first: data[0] } }),
  });
  // Test routes need no credential; auth is security.test.ts's subject.
  const open = { anonymous: true, authorize: () => true };
  return ({ sockets }) => {
    if (!sockets) return;
    sockets.route('/t', (_req, url) => {
      const user = url.searchParams.get('user');
      return {
        channel: url.searchParams.get('ch') ?? 'lobby',
        profile: user ? { id: user, name: url.searchParams.get('name') ?? user } : undefined,
        handler,
      };
    }, open);
    sockets.route('/t/binary', () => ({ channel: 'bin', handler: binaryHandler }), open);
    sockets.route('/t/quiet', (_req, url) => ({ channel: url.searchParams.get('ch') ?? 'lobby', profile: { id: url.searchParams.get('user')!, name: url.searchParams.get('name')! }, handler }), {
      ...open,
      presenceUpdates: false,
    });
    sockets.route('/t/auth', () => {
      throw new HttpError(401, 'login required');
    }, open);
    sockets.route('/t/crash', () => {
      throw new Error('resolver bug: secret detail');
    }, open);
  };
}

let probe: Probe;
let t: TestApp;
let sockets: SocketService;

/** A fresh app with the test routes and the given socket limits. */
async function start(socket: Partial<Config['socket']> = {}, options: AppOptions = {}): Promise<TestApp> {
  probe = new Probe();
  t = await startApp({ socket, features: [testFeature(probe)], ...options });
  sockets = t.app.sockets!;
  return t;
}

interface Peer {
  c: TestClient;
  id: string;
  conn: Connection;
}

/** Connects to a path of the current app and learns the server-side connection (one whoami request). */
async function peer(path = '/t', options?: ClientOptions): Promise<Peer> {
  const c = await connect(t.url(path), options);
  const answer = await c.request('', 'whoami');
  expect(answer.cmd, JSON.stringify(answer)).to.equal('reply');
  const conn = sockets.getConnection(answer.param);
  expect(conn, 'server-side connection').to.not.equal(undefined);
  return { c, id: answer.param, conn: conn! };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err as Error,
  );

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('SocketService', () => {
  afterEach(closeAll);

  describe('upgrade', () => {
    it('registers a connection with a UUID v4 id, guest profile, channel, peer details, times and counters', async () => {
      await start();
      const before = Date.now();
      const c = await connect(t.url('/t?ch=room1'), { headers: { 'User-Agent': 'wsforge-test/1.0' } });
      const whoami = { channel: 'room1', cmd: 'whoami', param: {}, ref: 1 };
      const answer = c.next({ ref: 1 });
      c.send(whoami);
      const reply = await answer;
      const after = Date.now();
      const conn = sockets.getConnection(reply.param)!;
      expect(conn.id).to.equal(reply.param).and.match(uuidV4);
      expect(conn.profile).to.deep.equal({ id: conn.id, name: `guest-${conn.id.slice(0, 8)}` });
      expect(conn.channel).to.equal('room1');
      expect([...conn.channels]).to.deep.equal(['room1']);
      expect(conn.remoteAddress).to.equal('127.0.0.1');
      expect(conn.userAgent).to.equal('wsforge-test/1.0');
      expect(conn.started).to.be.within(before, after);
      expect(conn.lastActivity).to.be.within(conn.started, after);
      // Out: its own arrival's presence-diff (every member is told, the joiner too), then the reply.
      const arrival = await c.waitFor({ cmd: 'presence-diff' });
      expect(conn).to.deep.include({
        messagesIn: 1,
        bytesIn: Buffer.byteLength(JSON.stringify(whoami)),
        messagesOut: 2,
        bytesOut: Buffer.byteLength(JSON.stringify(reply)) + Buffer.byteLength(JSON.stringify(arrival)),
        errors: 0,
      });

      const seen = conn.lastActivity;
      await sleep(15);
      const echo = await c.request('room1', 'echo', { text: 'hé' });
      expect(conn.lastActivity).to.be.greaterThan(seen);
      expect(conn.messagesIn).to.equal(2);
      expect(conn.messagesOut).to.equal(3);
      expect(conn.bytesOut).to.equal(Buffer.byteLength(JSON.stringify(reply)) + Buffer.byteLength(JSON.stringify(arrival)) + Buffer.byteLength(JSON.stringify(echo)));

      const other = await peer('/t?ch=room1');
      expect(other.id).to.match(uuidV4).and.not.equal(conn.id);
    });

    it('takes the profile from the route', async () => {
      await start();
      const a = await peer('/t?user=u1&name=Ann');
      expect(a.conn.profile).to.deep.equal({ id: 'u1', name: 'Ann' });
      expect(a.id).to.not.equal('u1');
    });

    it('refuses with 400 a channel from the route longer than maxChannelNameLength', async () => {
      await start({ maxChannelNameLength: 16 });
      const refused = await refusedUpgrade(t.url(`/t?ch=${'x'.repeat(17)}`));
      expect(refused.status).to.equal(400);
      expect(refused.body).to.match(/channel/);
      expect(sockets.getConnections()).to.deep.equal([]);
      await peer(`/t?ch=${'x'.repeat(16)}`);
    });

    it('refuses a malformed WebSocket handshake with 400 and registers nothing', async () => {
      await start();
      const res = await new Promise<{ status: number; upgraded: boolean }>((resolve, reject) => {
        const req = httpRequest(t.httpUrl('/t'), {
          headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'not-a-key' },
        });
        req.on('response', (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, upgraded: false });
        });
        req.on('upgrade', (_r, socket) => {
          socket.destroy();
          resolve({ status: 101, upgraded: true });
        });
        req.on('error', reject);
        req.end();
      });
      expect(res).to.deep.equal({ status: 400, upgraded: false });
      expect(sockets.status().counts.connections).to.equal(0);
    });
  });

  describe('readLoop', () => {
    it('settles with the close code and reason once the connection has closed and been cleaned up', async () => {
      await start();
      const a = await peer('/t?ch=room');
      const loop = sockets.readLoop(a.id);
      let settled = false;
      void loop.then(() => (settled = true));
      await a.c.sync();
      await sleep(20);
      expect(settled, 'settled while the connection is open').to.equal(false);
      await a.c.close(4321, 'bye');
      expect(await within(loop, 2000, 'readLoop')).to.deep.equal({ code: 4321, reason: 'bye' });
      expect(sockets.getConnection(a.id)).to.equal(undefined);
      expect(sockets.getConnectionsByChannel('room')).to.deep.equal([]);
      expect(sockets.status().channels).to.deep.equal([]);
    });

    it('settles with 1006 when the peer vanishes without a close frame', async () => {
      await start();
      const a = await peer();
      const loop = sockets.readLoop(a.id);
      a.c.terminate();
      expect((await within(loop, 2000, 'readLoop')).code).to.equal(1006);
    });

    it('rejects for an unknown connection id', async () => {
      await start();
      const err = await rejection(sockets.readLoop('00000000-0000-4000-8000-000000000000'));
      expect(err.message).to.match(/unknown connection/);
    });
  });

  describe('join and leave', () => {
    it('join resolves true when it created the channel, false when the channel existed or the connection was in it', async () => {
      await start();
      const a = await peer();
      const b = await peer();
      expect(await sockets.join(a.id, 'x')).to.equal(true);
      expect(await sockets.join(b.id, 'x')).to.equal(false);
      expect(await sockets.join(a.id, 'x')).to.equal(false);
      expect([...a.conn.channels]).to.deep.equal(['lobby', 'x']);
      expect(sockets.getConnectionsByChannel('x').map((c) => c.id)).to.have.members([a.id, b.id]);
    });

    it('leave resolves true only when it removed the channel with its last member', async () => {
      await start();
      const a = await peer();
      const b = await peer();
      await sockets.join(a.id, 'x');
      await sockets.join(b.id, 'x');
      expect(await sockets.leave(a.id, 'x')).to.equal(false);
      expect(sockets.getConnectionsByChannel('x').map((c) => c.id)).to.deep.equal([b.id]);
      expect(await sockets.leave(a.id, 'x'), 'not a member any more').to.equal(false);
      expect(await sockets.leave(b.id, 'x')).to.equal(true);
      expect(sockets.status().channels.map((ch) => ch.key)).to.deep.equal(['lobby']);
      expect(await sockets.leave(b.id, 'x'), 'channel gone').to.equal(false);
      expect(await sockets.leave('no-such-connection', 'lobby')).to.equal(false);
      expect([...b.conn.channels]).to.deep.equal(['lobby']);
    });

    it('join of an unknown connection rejects with unknown_connection', async () => {
      await start();
      const err = await rejection(sockets.join('no-such-connection', 'x'));
      expect(err).to.be.instanceOf(SocketError).and.include({ code: 'unknown_connection' });
      expect(sockets.status().channels).to.deep.equal([]);
    });

    it('join beyond maxChannelsPerConnection rejects with limit_exceeded and changes nothing', async () => {
      await start({ maxChannelsPerConnection: 2 });
      const a = await peer();
      expect(await sockets.join(a.id, 'b')).to.equal(true);
      const err = await rejection(sockets.join(a.id, 'c'));
      expect(err).to.be.instanceOf(SocketError).and.include({ code: 'limit_exceeded' });
      expect([...a.conn.channels]).to.deep.equal(['lobby', 'b']);
      expect(sockets.getConnectionsByChannel('c')).to.deep.equal([]);
    });

    it('built-in join and leave cmds reply {created} and {removed}', async () => {
      await start();
      const a = await peer();
      const b = await peer();
      expect(await a.c.request('room', 'join', {}, { ref: 'j1' })).to.deep.equal({ channel: 'room', cmd: 'reply', param: { created: true }, ref: 'j1' });
      expect((await b.c.request('room', 'join')).param).to.deep.equal({ created: false });
      expect(await a.c.request('room', 'leave', {}, { ref: 2 })).to.deep.equal({ channel: 'room', cmd: 'reply', param: { removed: false }, ref: 2 });
      expect((await b.c.request('room', 'leave')).param).to.deep.equal({ removed: true });
      expect(sockets.getConnectionsByChannel('room')).to.deep.equal([]);
      // Once it has left, the channel is closed to its frames.
      expect((await a.c.request('room', 'echo', { text: 'x' })).param.code).to.equal('not_member');
    });
  });

  describe('presence-diff', () => {
    const diffs = (c: TestClient, channel?: string) => c.frames.filter((f) => f.cmd === 'presence-diff' && (channel === undefined || f.channel === channel));
    const names = (f: Frame) => ({ joins: f.param.joins.map((u: { userId: string }) => u.userId), leaves: f.param.leaves.map((u: { userId: string }) => u.userId), count: f.param.count });

    it('tells every member, the joiner too, when a user joins and leaves a channel, with its user count', async () => {
      await start();
      const a = await peer('/t?ch=room&user=ua&name=Ann');
      const b = await peer('/t?ch=room&user=ub&name=Bob');
      // include, not equal: channel broadcasts may carry delivery metadata (history position).
      expect(await a.c.waitFor((f) => f.cmd === 'presence-diff' && f.param.joins.some((u: { userId: string }) => u.userId === 'ub'))).to.deep.include({
        channel: 'room',
        cmd: 'presence-diff',
        param: { joins: [{ userId: 'ub', name: 'Bob' }], leaves: [], count: 2 },
      });
      await b.c.waitFor({ cmd: 'presence-diff', param: { joins: [{ userId: 'ub', name: 'Bob' }], leaves: [], count: 2 } });

      // Through the built-in cmds too, on the joined channel.
      await a.c.request('side', 'join');
      await b.c.request('side', 'join');
      await a.c.waitFor({ channel: 'side', cmd: 'presence-diff', param: { joins: [{ userId: 'ub', name: 'Bob' }], leaves: [], count: 2 } });
      await b.c.request('side', 'leave');
      await a.c.waitFor({ channel: 'side', cmd: 'presence-diff', param: { joins: [], leaves: [{ userId: 'ub', name: 'Bob' }], count: 1 } });

      await b.c.close();
      await a.c.waitFor({ channel: 'room', cmd: 'presence-diff', param: { joins: [], leaves: [{ userId: 'ub', name: 'Bob' }], count: 1 } });
      await a.c.sync();
      expect(diffs(a.c).map((f) => [f.channel, ...Object.values(names(f))])).to.deep.equal([
        ['room', ['ua'], [], 1],
        ['room', ['ub'], [], 2],
        ['side', ['ua'], [], 1],
        ['side', ['ub'], [], 2],
        ['side', [], ['ub'], 1],
        ['room', [], ['ub'], 1],
      ]);
      expect(diffs(b.c).some((f) => f.param.joins.some((u: { userId: string }) => u.userId === 'ua')), 'b was told of nobody who joined before it').to.equal(false);
    });

    it('coalesces the joins and leaves of one interval into one frame per member, and cancels a leave and rejoin', async () => {
      await start({ presenceIntervalMs: 300 });
      const watcher = await peer('/t?ch=room&user=uw&name=Wes');
      await watcher.c.waitFor({ cmd: 'presence-diff' });
      // Within the interval after that announcement: five arrivals, one of them leaving and coming back.
      const arrivals = await Promise.all([1, 2, 3, 4, 5].map((i) => peer(`/t?ch=room&user=u${i}&name=N${i}`)));
      const loop = sockets.readLoop(arrivals[4]!.id);
      await arrivals[4]!.c.close();
      await loop;
      await peer('/t?ch=room&user=u5&name=N5');
      const next = await watcher.c.waitFor((f) => f.cmd === 'presence-diff' && f.param.count === 6, 2000);
      expect(names(next).joins).to.have.members(['u1', 'u2', 'u3', 'u4', 'u5']);
      expect(names(next).leaves).to.deep.equal([]);
      await new Promise((r) => setTimeout(r, 400));
      expect(diffs(watcher.c).length, 'its own arrival, then one frame for all five').to.equal(2);
    });

    it('announces a user with two tabs once on the first join and once on the last leave', async () => {
      await start();
      const watcher = await peer('/t?ch=room');
      const tab1 = await peer('/t?ch=room&user=u1&name=Ann');
      await watcher.c.waitFor({ cmd: 'presence-diff', param: { joins: [{ userId: 'u1', name: 'Ann' }], leaves: [], count: 2 } });
      const tab2 = await peer('/t?ch=room&user=u1&name=Ann');
      expect(sockets.getUsersByChannel('room')).to.have.deep.members([watcher.conn.profile, { id: 'u1', name: 'Ann' }]);
      const loop1 = sockets.readLoop(tab1.id);
      await tab1.c.close();
      await loop1;
      await new Promise((r) => setTimeout(r, 300));
      await watcher.c.sync();
      const ann = (f: Frame) => f.cmd === 'presence-diff' && [...f.param.joins, ...f.param.leaves].some((u: { userId: string }) => u.userId === 'u1');
      expect(watcher.c.since(0, ann).map((f) => f.param.joins.length > 0), 'after the second tab joined and the first left').to.deep.equal([true]);
      const loop2 = sockets.readLoop(tab2.id);
      await tab2.c.close();
      await loop2;
      await watcher.c.waitFor({ cmd: 'presence-diff', param: { joins: [], leaves: [{ userId: 'u1', name: 'Ann' }], count: 1 } });
      expect(watcher.c.since(0, ann).map((f) => f.param.joins.length > 0)).to.deep.equal([true, false]);
    });

    it('is not sent for users of a route with presenceUpdates: false, who are still in presence and still told of others', async () => {
      await start();
      const watcher = await peer('/t?ch=room&user=uw&name=Wes');
      const quiet = await peer('/t/quiet?ch=room&user=uq&name=Quinn');
      expect((await watcher.c.request('room', 'presence')).param.users).to.have.deep.members([
        { id: 'uw', name: 'Wes' },
        { id: 'uq', name: 'Quinn' },
      ]);
      const loud = await peer('/t?ch=room&user=ul&name=Lou');
      await quiet.c.waitFor({ cmd: 'presence-diff', param: { joins: [{ userId: 'ul', name: 'Lou' }], leaves: [], count: 3 } });
      const loop = sockets.readLoop(quiet.id);
      await quiet.c.close();
      await loop;
      await loud.c.close();
      await watcher.c.waitFor((f) => f.cmd === 'presence-diff' && f.param.leaves.some((u: { userId: string }) => u.userId === 'ul'));
      const mentioned = diffs(watcher.c).flatMap((f) => [...f.param.joins, ...f.param.leaves].map((u: { userId: string }) => u.userId));
      expect(mentioned).to.not.include('uq');
      expect(mentioned).to.include.members(['uw', 'ul']);
      expect((await watcher.c.request('room', 'presence')).param.users).to.deep.equal([{ id: 'uw', name: 'Wes' }]);
    });

    it('above presenceListMax sends the count alone, with frames per join bounded as the channel fills', async () => {
      const listMax = 5;
      const n = 60;
      await start({ presenceIntervalMs: 50, presenceListMax: listMax, maxConnectionsPerIp: 1000 });
      const peers: Peer[] = [];
      for (let i = 0; i < n; i++) peers.push(await peer(`/t?ch=big&user=u${i}&name=N${i}`));
      await new Promise((r) => setTimeout(r, 50 * Math.ceil(n / listMax) + 200));
      await Promise.all(peers.map((p) => p.c.sync()));
      const all = peers.flatMap((p) => diffs(p.c, 'big'));
      const last = diffs(peers[0]!.c, 'big').at(-1)!;
      expect(last.param.count, 'the last count is the whole channel').to.equal(n);
      expect(all.filter((f) => f.param.count > listMax).every((f) => f.param.joins.length === 0 && f.param.leaves.length === 0), 'no names above the list max').to.equal(true);
      // n² / 2 = 1,800 frames if every join were announced to every member.
      expect(all.length / n, 'presence frames per join').to.be.below(12);
    });
  });

  describe('writes', () => {
    const news = (channel: string, n: number) => ({ channel, cmd: 'news', param: { n } });

    it('writeConnection reaches that connection only', async () => {
      await start();
      const [a, b] = [await peer(), await peer()];
      const mark = b.c.frames.length;
      sockets.writeConnection(a.id, news('lobby', 1));
      expect(await a.c.next({ cmd: 'news' })).to.deep.equal(news('lobby', 1));
      await b.c.sync();
      expect(b.c.since(mark)).to.deep.equal([]);
    });

    it('writeChannel reaches every member of the channel except the given ids', async () => {
      await start();
      const [a, b, c, d, outsider] = [await peer('/t?ch=room'), await peer('/t?ch=room'), await peer('/t?ch=room'), await peer('/t?ch=room'), await peer('/t?ch=other')];
      const peers = [a, b, c, d, outsider];
      await Promise.all(peers.map((p) => p.c.sync()));
      const marks = peers.map((p) => p.c.frames.length);
      sockets.writeChannel(news('room', 1), a.id, c.id);
      sockets.writeChannel(news('room', 2));
      await Promise.all(peers.map((p) => p.c.sync()));
      const got = peers.map((p, i) => p.c.since(marks[i]!).map((f) => f.param.n));
      expect(got).to.deep.equal([[2], [1, 2], [2], [1, 2], []]);
    });

    it('writeAll reaches every connection on every route and channel except the given ids', async () => {
      await start();
      const peers = [await peer('/t?ch=a'), await peer('/t?ch=b'), await peer('/t/binary'), await peer('/t?ch=a')];
      const marks = peers.map((p) => p.c.frames.length);
      sockets.writeAll(news('anything', 7), peers[1]!.id);
      await Promise.all(peers.map((p) => p.c.sync()));
      expect(peers.map((p, i) => p.c.since(marks[i]!).length)).to.deep.equal([1, 0, 1, 1]);
      expect(peers[0]!.c.since(marks[0]!)).to.deep.equal([news('anything', 7)]);
    });

    it('writeUser reaches every tab of that user, whatever their channel, and nobody else', async () => {
      await start();
      const peers = [await peer('/t?ch=a&user=u1&name=Ann'), await peer('/t?ch=b&user=u1&name=Ann'), await peer('/t?ch=a&user=u2&name=Bob'), await peer('/t?ch=a')];
      await Promise.all(peers.map((p) => p.c.sync()));
      const marks = peers.map((p) => p.c.frames.length);
      sockets.writeUser('u1', news('dm', 1));
      sockets.writeUser('nobody', news('dm', 2));
      // A guest's user id is its connection id (guests are found without the users index).
      sockets.writeUser(peers[3]!.conn.profile.id, news('dm', 3));
      sockets.writeUser(peers[1]!.id, news('dm', 4)); // a connection id, but not a guest's user id
      await Promise.all(peers.map((p) => p.c.sync()));
      expect(peers.map((p, i) => p.c.since(marks[i]!))).to.deep.equal([[news('dm', 1)], [news('dm', 1)], [], [news('dm', 3)]]);
      expect(peers[3]!.conn.profile.id).to.equal(peers[3]!.id);
    });
  });

  describe('disconnect', () => {
    it('by default sends close-connection, then closes with 4000', async () => {
      await start();
      const a = await peer('/t?ch=room');
      const loop = sockets.readLoop(a.id);
      sockets.disconnect(a.id);
      expect(await within(a.c.closed, 2000, 'client closed')).to.deep.equal({ code: 4000, reason: 'disconnected by server' });
      expect(a.c.frames.at(-1)).to.deep.equal({ channel: 'room', cmd: 'close-connection', param: { reason: 'disconnected by server' } });
      expect(await within(loop, 2000, 'readLoop')).to.deep.equal({ code: 4000, reason: 'disconnected by server' });
      expect(sockets.getConnection(a.id)).to.equal(undefined);
    });

    it('with another code closes with that code and reason, without close-connection', async () => {
      await start();
      const a = await peer();
      sockets.disconnect(a.id, 4100, 'maintenance');
      expect(await within(a.c.closed, 2000, 'client closed')).to.deep.equal({ code: 4100, reason: 'maintenance' });
      expect(a.c.frames.filter((f) => f.cmd === 'close-connection')).to.deep.equal([]);
    });

    it('cuts a long or multi-byte reason to what a close frame can carry instead of throwing', async () => {
      await start();
      const a = await peer();
      const b = await peer();
      const reason = 'é'.repeat(100); // 200 bytes; a close frame carries at most 123
      sockets.disconnect(a.id, 4000, reason);
      sockets.disconnect(b.id, 4100, 'x'.repeat(300));
      const [ca, cb] = await within(Promise.all([a.c.closed, b.c.closed]), 2000, 'both closed');
      expect(ca.code).to.equal(4000);
      expect(Buffer.byteLength(ca.reason)).to.be.at.most(123);
      expect(reason.startsWith(ca.reason) && ca.reason.length > 0, ca.reason).to.equal(true);
      expect(cb.code).to.equal(4100);
      expect(cb.reason).to.match(/^x+$/);
      expect(a.c.frames.at(-1)).to.include({ cmd: 'close-connection' });
    });

    it('with an invalid close code throws and leaves the connection working', async () => {
      await start();
      const a = await peer();
      expect(() => sockets.disconnect(a.id, 1005)).to.throw(TypeError);
      expect((await a.c.request('lobby', 'echo', { text: 'still here' })).param).to.deep.equal({ text: 'still here' });
      sockets.disconnect(a.id, 4100, 'now for real');
      expect(await within(a.c.closed, 2000, 'client closed')).to.deep.equal({ code: 4100, reason: 'now for real' });
    });

    it('of an unknown id does nothing', async () => {
      await start();
      const a = await peer();
      sockets.disconnect('no-such-connection');
      await a.c.sync();
      expect(a.c.isOpen).to.equal(true);
    });
  });

  describe('status and queries', () => {
    it('status() reports counts, channels with members and users, and the connections as plain JSON', async () => {
      await start({}, { nodeId: 'node-t' });
      const tab1 = await peer('/t?ch=a&user=u1&name=Ann');
      const tab2 = await peer('/t?ch=a&user=u1&name=Ann');
      const guest = await peer('/t?ch=b');
      await tab1.c.request('a', 'echo', { text: 'hi' });
      await guest.c.request('b', 'launch'); // unknown_cmd: one error
      await tab1.c.sync();
      const s = sockets.status();
      expect(JSON.parse(JSON.stringify(s)), 'plain JSON').to.deep.equal(s);
      expect(s.node).to.equal('node-t');
      expect(s.uptimeMs).to.be.at.least(0);
      expect(s.startedAt).to.be.at.most(Date.now());
      expect(s.channels).to.have.deep.members([
        { key: 'a', members: 2, users: 1 },
        { key: 'b', members: 1, users: 1 },
      ]);
      const peers = [tab1, tab2, guest];
      const sum = (k: 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut' | 'errors') => peers.reduce((n, p) => n + p.conn[k], 0);
      expect(s.counts).to.deep.equal({
        connections: 3,
        channels: 2,
        messagesIn: sum('messagesIn'),
        messagesOut: sum('messagesOut'),
        bytesIn: sum('bytesIn'),
        bytesOut: sum('bytesOut'),
        errors: 1,
      });
      expect(s.counts.messagesIn).to.equal(3 + 1 + 1 + 1); // three whoami, echo, launch, sync
      expect(s.connections.map((c) => c.id)).to.have.members(peers.map((p) => p.id));
      const row = s.connections.find((c) => c.id === tab2.id)!;
      expect(row).to.deep.equal({ ...tab2.conn.status('node-t') });
      expect(row).to.include({ node: 'node-t', channel: 'a', remoteAddress: '127.0.0.1' });
      expect(row.profile).to.deep.equal({ id: 'u1', name: 'Ann' });
      expect(row.channels).to.deep.equal(['a']);
    });

    it('status() totals survive closed connections', async () => {
      await start();
      const a = await peer();
      const b = await peer();
      await a.c.request('lobby', 'echo', { text: 'x'.repeat(100) });
      await a.c.request('lobby', 'nope');
      const before = sockets.status().counts;
      const loop = sockets.readLoop(a.id);
      await a.c.close();
      await loop;
      await b.c.waitFor((f) => f.cmd === 'presence-diff' && f.param.leaves.some((u: { userId: string }) => u.userId === a.conn.profile.id));
      const after = sockets.status().counts;
      expect(after).to.deep.include({ connections: 1, messagesIn: before.messagesIn, bytesIn: before.bytesIn, errors: 1 });
      expect(after.messagesOut).to.equal(before.messagesOut + 1, "b's presence-diff about a leaving");
      expect(sockets.status().connections.map((c) => c.id)).to.deep.equal([b.id]);
    });

    it('status() totals never go down while a closing connection is being cleaned up', async () => {
      await start();
      const a = await peer();
      await a.c.request('lobby', 'echo', { text: 'counted' });
      const before = sockets.status().counts;
      probe.closeGate = new Gate(); // onClose waits: cleanup is in progress
      const loop = sockets.readLoop(a.id);
      await a.c.close();
      await eventually(() => expect(sockets.getConnection(a.id)).to.equal(undefined));
      const during = sockets.status().counts;
      expect(during.connections).to.equal(0);
      expect(during.messagesIn).to.equal(before.messagesIn);
      expect(during.bytesIn).to.equal(before.bytesIn);
      probe.closeGate.open();
      await loop;
      expect(sockets.status().counts.messagesIn).to.equal(before.messagesIn);
    });

    it('getConnection, getConnections, getConnectionsByChannel and getUsersByChannel', async () => {
      await start();
      const a = await peer('/t?ch=a&user=u1&name=Ann');
      const a2 = await peer('/t?ch=a&user=u1&name=Ann');
      const b = await peer('/t?ch=b');
      expect(sockets.getConnection(a.id)).to.equal(a.conn);
      expect(sockets.getConnection('nope')).to.equal(undefined);
      expect(sockets.getConnections()).to.have.members([a.conn, a2.conn, b.conn]);
      expect(sockets.getConnectionsByChannel('a')).to.have.members([a.conn, a2.conn]);
      expect(sockets.getConnectionsByChannel('b')).to.deep.equal([b.conn]);
      expect(sockets.getConnectionsByChannel('none')).to.deep.equal([]);
      expect(sockets.getUsersByChannel('a')).to.deep.equal([{ id: 'u1', name: 'Ann' }]);
      expect(sockets.getUsersByChannel('b')).to.deep.equal([b.conn.profile]);
      expect(sockets.getUsersByChannel('none')).to.deep.equal([]);
      await sockets.join(b.id, 'a');
      expect(sockets.getUsersByChannel('a')).to.have.deep.members([{ id: 'u1', name: 'Ann' }, b.conn.profile]);
    });
  });

  describe('close()', () => {
    it('closes every client with 1001 and refuses new upgrades with 503', async () => {
      await start();
      const a = await peer('/t?ch=x');
      const b = await peer('/t/binary');
      const loops = [sockets.readLoop(a.id), sockets.readLoop(b.id)];
      await within(sockets.close(), 2000, 'close()');
      expect(await a.c.closed).to.deep.equal({ code: 1001, reason: 'server shutting down' });
      expect(await b.c.closed).to.deep.equal({ code: 1001, reason: 'server shutting down' });
      expect((await Promise.all(loops)).map((i) => i.code)).to.deep.equal([1001, 1001]);
      expect(sockets.status().counts).to.include({ connections: 0, channels: 0 });
      const refused = await refusedUpgrade(t.url('/t'));
      expect(refused.status).to.equal(503);
      // Before any route check or work: a path with no route, or whose resolver refuses, gets 503 too.
      expect((await refusedUpgrade(t.url('/no-such-route'))).status).to.equal(503);
      expect((await refusedUpgrade(t.url('/t/auth'))).status).to.equal(503);
    });

    it('takes a bounded time when a client never answers the close, refusing upgrades meanwhile', async () => {
      await start({ shutdownTimeoutMs: 300 });
      const deaf = await peer('/t?ch=x');
      const fine = await peer('/t?ch=x');
      deaf.c.pauseReading();
      const deafLoop = sockets.readLoop(deaf.id);
      const started = Date.now();
      const closing = sockets.close();
      const refused = await refusedUpgrade(t.url('/t'));
      expect(refused.status, 'upgrade during shutdown').to.equal(503);
      expect(await within(fine.c.closed, 1000, 'answering client closed')).to.deep.equal({ code: 1001, reason: 'server shutting down' });
      await within(closing, 3000, 'close() with a client that never answers');
      const took = Date.now() - started;
      expect(took, 'waited for the deaf client').to.be.at.least(250);
      expect(took, 'bounded by shutdownTimeoutMs').to.be.below(2000);
      expect(await deafLoop).to.deep.equal({ code: 1001, reason: 'server shutting down' });
      expect(sockets.getConnections()).to.deep.equal([]);
    });
  });

  describe('request/reply', () => {
    it('answers a frame with a string or number ref with exactly one reply carrying that ref and the return value', async () => {
      await start();
      const a = await peer();
      const mark = a.c.frames.length;
      for (const ref of ['abc', 42, 0, 'x'.repeat(64)] as Ref[]) {
        expect(await a.c.request('lobby', 'echo', { text: `t${ref}` }, { ref })).to.deep.equal({ channel: 'lobby', cmd: 'reply', param: { text: `t${ref}` }, ref });
      }
      await a.c.sync();
      expect(a.c.since(mark).map((f) => f.ref)).to.deep.equal(['abc', 42, 0, 'x'.repeat(64)]);
    });

    it('replies null when the handler returns nothing, and sends nothing for a frame without ref', async () => {
      await start();
      const a = await peer();
      expect(await a.c.request('', 'nothing', {}, { ref: 'n' })).to.deep.equal({ channel: 'lobby', cmd: 'reply', param: null, ref: 'n' });
      const mark = a.c.frames.length;
      a.c.send({ channel: 'lobby', cmd: 'echo', param: { text: 'fire and forget' } });
      a.c.send({ cmd: 'nothing' });
      await a.c.sync();
      expect(a.c.since(mark)).to.deep.equal([]);
      expect(a.conn.errors).to.equal(0);
    });
  });

  describe('in-order handling', () => {
    it('handles and answers 50 frames sent at once strictly in order under an async handler with random delays', async () => {
      await start();
      const a = await peer();
      const n = 50;
      const last = a.c.next({ ref: n - 1 }, 5000);
      for (let i = 0; i < n; i++) a.c.send({ cmd: 'step', param: { seq: i }, ref: i });
      await last;
      expect(a.c.frames.filter((f) => f.cmd === 'reply' && typeof f.ref === 'number').map((f) => [f.ref, f.param.seq])).to.deep.equal(range(n).map((i) => [i, i]));
      // Never two at once: each starts only after the previous one ended.
      expect(probe.events).to.deep.equal(range(n).flatMap((i) => [`start ${i}`, `end ${i}`]));
    });

    it('keeps the order when sync cmds and errors are queued behind async ones', async () => {
      await start();
      const a = await peer();
      const n = 30;
      const last = a.c.next({ ref: n - 1 }, 5000);
      for (let i = 0; i < n; i++) {
        if (i % 3 === 0) a.c.send({ cmd: 'step', param: { seq: i }, ref: i });
        else if (i % 3 === 1) a.c.send({ cmd: 'echo', param: { text: String(i) }, ref: i });
        else a.c.send({ cmd: 'no-such-cmd', ref: i });
      }
      await last;
      const answers = a.c.frames.filter((f) => typeof f.ref === 'number');
      expect(answers.map((f) => [f.ref, f.cmd])).to.deep.equal(range(n).map((i) => [i, i % 3 === 2 ? 'error' : 'reply']));
    });
  });

  describe('error frames', () => {
    interface Case {
      what: string;
      send: object | string | Buffer;
      code: string;
      ref?: Ref;
      channel?: string;
      message?: RegExp | string;
    }
    const cases: Case[] = [
      { what: 'non-JSON text', send: 'hello {', code: 'invalid_json' },
      { what: 'a JSON array', send: '[1,2]', code: 'invalid_frame' },
      { what: 'a JSON string', send: '"join"', code: 'invalid_frame' },
      { what: 'JSON null', send: 'null', code: 'invalid_frame' },
      { what: 'a frame without cmd', send: { channel: 'lobby', param: {}, ref: 'r1' }, code: 'invalid_frame', ref: 'r1', message: /cmd/ },
      { what: 'an empty cmd', send: { cmd: '', ref: 2 }, code: 'invalid_frame', ref: 2 },
      { what: 'an object ref', send: { cmd: 'echo', param: { text: 'x' }, ref: { id: 1 } }, code: 'invalid_frame', message: /ref/ },
      { what: 'a ref longer than 64 characters', send: { cmd: 'echo', param: { text: 'x' }, ref: 'r'.repeat(65) }, code: 'invalid_frame', message: /ref/ },
      { what: 'a channel that is not a string', send: { channel: 5, cmd: 'echo', ref: 'r3' }, code: 'invalid_frame', ref: 'r3', message: /channel/ },
      { what: 'a channel longer than maxChannelNameLength', send: { channel: 'c'.repeat(200), cmd: 'join', ref: 'r4' }, code: 'invalid_frame', ref: 'r4' },
      { what: 'an unknown cmd', send: { cmd: 'launch', param: {}, ref: 'r5' }, code: 'unknown_cmd', ref: 'r5', message: /launch/ },
      { what: 'an inherited property name as cmd', send: { cmd: 'toString', ref: 6 }, code: 'unknown_cmd', ref: 6 },
      { what: 'an invalid param', send: { cmd: 'echo', param: { text: 5 }, ref: 7 }, code: 'invalid_param', ref: 7, message: /text/ },
      { what: 'a missing param', send: { cmd: 'echo', ref: 8 }, code: 'invalid_param', ref: 8, message: /text/ },
      { what: 'a frame to a channel not joined', send: { channel: 'elsewhere', cmd: 'echo', param: { text: 'x' }, ref: 9 }, code: 'not_member', ref: 9, channel: 'elsewhere' },
      { what: 'a binary frame on a route without onBinary', send: Buffer.from([1, 2, 3]), code: 'binary_unsupported' },
      { what: 'a handler throwing SocketError', send: { cmd: 'fail', param: { kind: 'socket' }, ref: 10 }, code: 'custom_failure', ref: 10, message: 'the thing failed' },
      { what: 'a handler throwing a plain Error', send: { cmd: 'fail', param: { kind: 'plain' }, ref: 11 }, code: 'internal_error', ref: 11, message: 'internal error' },
    ];

    for (const k of cases) {
      it(`answers ${k.what} with ${k.code}; the connection stays open and nobody else sees anything`, async () => {
        await start();
        const a = await peer();
        const other = await peer();
        await a.c.sync();
        const [markA, markOther] = [a.c.frames.length, other.c.frames.length];
        const answer = a.c.next({ cmd: 'error' });
        a.c.send(k.send);
        const err = await answer;
        const { message } = err.param;
        const expected = { channel: k.channel ?? 'lobby', cmd: 'error', param: { code: k.code, message }, ...(k.ref === undefined ? {} : { ref: k.ref }) };
        expect(err).to.deep.equal(expected);
        expect(message).to.be.a('string').and.not.equal('');
        if (typeof k.message === 'string') expect(message).to.equal(k.message);
        else if (k.message) expect(message).to.match(k.message);
        expect(message).to.not.match(/hunter2/);

        await a.c.sync();
        expect(a.c.isOpen).to.equal(true);
        expect(a.c.since(markA), 'exactly one answer').to.deep.equal([expected]);
        expect(await a.c.request('lobby', 'echo', { text: 'still here' })).to.include({ cmd: 'reply' });
        await other.c.sync();
        expect(other.c.since(markOther)).to.deep.equal([]);
        expect(a.conn.errors).to.equal(1);
        expect(sockets.status().counts.errors).to.equal(1);
        expect([...a.conn.channels]).to.deep.equal(['lobby']);
      });
    }

    it('answers a join beyond maxChannelsPerConnection with limit_exceeded', async () => {
      await start({ maxChannelsPerConnection: 2 });
      const a = await peer();
      expect((await a.c.request('two', 'join')).param).to.deep.equal({ created: true });
      const err = await a.c.request('three', 'join', {}, { ref: 'j3' });
      expect(err).to.deep.equal({ channel: 'three', cmd: 'error', param: { code: 'limit_exceeded', message: err.param.message }, ref: 'j3' });
      expect(err.param.message).to.match(/2/);
      expect([...a.conn.channels]).to.deep.equal(['lobby', 'two']);
      expect(a.c.isOpen).to.equal(true);
    });

    it('hands binary frames to a route that opts in with onBinary', async () => {
      await start();
      const a = await peer('/t/binary');
      a.c.send(Buffer.from([9, 8, 7, 6]));
      expect(await a.c.next({ cmd: 'binary-received' })).to.deep.equal({ channel: 'bin', cmd: 'binary-received', param: { bytes: 4, first: 9 } });
      await a.c.sync();
      expect(a.c.frames.filter((f) => f.cmd === 'error')).to.deep.equal([]);
      expect(a.conn).to.include({ errors: 0, messagesIn: 3 });
    });
  });

  describe('limits', () => {
    it('closes a connection that sends a frame over maxPayload with 1009; a frame at the limit is fine', async () => {
      await start({ maxPayload: 1024 });
      const a = await peer();
      const other = await peer();
      const frameOf = (size: number) => {
        const base = JSON.stringify({ cmd: 'echo', param: { text: '' }, ref: 'big' });
        return JSON.stringify({ cmd: 'echo', param: { text: 'x'.repeat(size - base.length) }, ref: 'big' });
      };
      expect(frameOf(1024)).to.have.length(1024);
      a.c.send(frameOf(1024));
      expect(await a.c.next({ ref: 'big' })).to.include({ cmd: 'reply' });
      const loop = sockets.readLoop(a.id);
      a.c.send(frameOf(1025));
      expect((await within(a.c.closed, 2000, 'client closed')).code).to.equal(1009);
      expect((await within(loop, 2000, 'readLoop')).code).to.equal(1009);
      await other.c.sync();
      expect(other.c.isOpen).to.equal(true);
    });

    it('closes a connection that sends a text frame that is not UTF-8 with 1007', async () => {
      await start();
      const a = await peer();
      const loop = sockets.readLoop(a.id);
      a.c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      expect((await within(a.c.closed, 2000, 'client closed')).code).to.equal(1007);
      expect((await within(loop, 2000, 'readLoop')).code).to.equal(1007);
    });

    it('terminates a client that misses a pong, within a few ping intervals, and keeps one that answers', async () => {
      await start({ pingIntervalMs: 100 });
      const started = Date.now();
      const deaf = await peer('/t', { autoPong: false });
      const alive = await peer('/t');
      let pings = 0;
      deaf.c.ws.on('ping', () => pings++);
      const loop = sockets.readLoop(deaf.id);
      const info = await within(loop, 1500, 'deaf client terminated');
      expect(Date.now() - started).to.be.below(1000);
      expect(info).to.deep.equal({ code: 1006, reason: 'missed pong' });
      expect(pings, 'pings the deaf client got').to.be.at.least(1);
      expect((await within(deaf.c.closed, 1000, 'deaf client sees the close')).code).to.equal(1006);
      await sleep(500); // five more ping rounds
      expect(alive.c.isOpen).to.equal(true);
      expect(sockets.getConnection(alive.id)).to.equal(alive.conn);
      await alive.c.sync();
    });

    it('disconnects a slow consumer with 4008 while a healthy member of its channel gets every flood message', async () => {
      await start({ maxBufferedBytes: 256 * 1024, closeGraceMs: 200 });
      const slow = await peer('/t?ch=flood');
      const healthy = await peer('/t?ch=flood');
      slow.c.pauseReading();
      const slowLoop = sockets.readLoop(slow.id);
      const mark = healthy.c.frames.length;
      const payload = 'x'.repeat(1000);
      let sent = 0;
      const flood = (n: number) => {
        for (let i = 0; i < n; i++) sockets.writeChannel({ channel: 'flood', cmd: 'flood', param: { seq: sent++, payload } });
      };
      // Batches of 100 (~100 KB) per turn of the event loop, until the slow reader is cut off.
      while (!slow.conn.closing && sent < 50_000) {
        flood(100);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(slow.conn.closing, `slow consumer still open after ${sent} messages`).to.equal(true);
      flood(500); // the healthy member keeps getting everything while the slow one is cut off
      const floodEnd = Date.now();
      expect(await within(slowLoop, 3000, 'slow consumer closed')).to.deep.equal({
        code: 4008,
        reason: 'slow consumer: outbound buffer limit exceeded',
      });
      // Flood frames only: presence-diffs about the two arrivals and the cut-off may land among them.
      const floods = () => healthy.c.since(mark, { cmd: 'flood' });
      await eventually(() => expect(floods().length).to.equal(sent), 5000);
      expect(Date.now() - floodEnd, 'healthy client caught up').to.be.below(5000);
      expect(floods().map((f) => f.param.seq)).to.deep.equal(range(sent));
      expect(healthy.c.isOpen).to.equal(true);
      expect(sockets.getConnectionsByChannel('flood')).to.deep.equal([healthy.conn]);
    });
  });

  describe('inbox backpressure', () => {
    for (const [label, cmdOf] of [
      ['async frames', () => 'hold'],
      ['sync frames queued behind one async frame', (i: number) => (i === 0 ? 'hold' : 'echo')],
    ] as Array<[string, (i: number) => string]>) {
      it(`stops reading past inboxLimit while the handler blocks, then answers every frame in order (${label})`, async () => {
        const inboxLimit = 4;
        await start({ inboxLimit });
        const a = await peer();
        const n = 20;
        for (let i = 0; i < n; i++) {
          a.c.send({ cmd: cmdOf(i), param: { seq: i, text: String(i) }, ref: i });
          await sleep(3); // separate TCP reads, so the server can stop in between
        }
        await sleep(30);
        const read = a.conn.messagesIn - 1; // minus whoami
        expect(read, 'frames read while the handler blocks').to.be.at.least(inboxLimit).and.below(n);
        expect(a.c.frames.filter((f) => typeof f.ref === 'number'), 'answered before the handler unblocked').to.deep.equal([]);
        probe.gate.open();
        await a.c.waitFor({ ref: n - 1 }, 3000);
        const answers = a.c.frames.filter((f) => typeof f.ref === 'number');
        expect(answers.map((f) => [f.ref, f.cmd])).to.deep.equal(range(n).map((i) => [i, 'reply']));
        expect(a.conn.messagesIn - 1).to.equal(n);
        await a.c.sync();
      });
    }
  });

  describe('routing', () => {
    it('answers an upgrade to an unknown path with HTTP 404', async () => {
      await start();
      const refused = await refusedUpgrade(t.url('/nope?ch=x'));
      expect(refused).to.deep.equal({ status: 404, statusMessage: 'Not Found', body: 'no socket route at /nope\n' });
    });

    it('answers with the status of an HttpError thrown by the route resolver', async () => {
      await start();
      const refused = await refusedUpgrade(t.url('/t/auth'));
      expect(refused).to.deep.equal({ status: 401, statusMessage: 'Unauthorized', body: 'login required\n' });
    });

    it('answers 500 without details when a resolver throws anything else', async () => {
      await start();
      const refused = await refusedUpgrade(t.url('/t/crash'));
      expect(refused).to.deep.equal({ status: 500, statusMessage: 'Internal Server Error', body: 'internal error\n' });
      await peer(); // the service is fine
    });

    it('refuses an invalid ch on /example/socket with 400; a valid one speaks the example protocol', async () => {
      await start();
      expect((await refusedUpgrade(t.url('/example/socket?ch=no%20spaces!'))).status).to.equal(400);
      expect((await refusedUpgrade(t.url(`/example/socket?ch=${'a'.repeat(65)}`))).status).to.equal(400);
      const c = await connect(t.url('/example/socket?ch=room-1'));
      const reply = await c.request('room-1', 'ping', {});
      expect(reply).to.include({ channel: 'room-1', cmd: 'reply' });
      expect(reply.param.timestamp).to.be.a('number');
      expect(await c.waitFor({ cmd: 'pong' })).to.deep.include({ channel: 'room-1', cmd: 'pong', param: { timestamp: reply.param.timestamp } });
      expect(sockets.getConnectionsByChannel('room-1')).to.have.length(1);
    });

    it('with wsEnabled: false creates no service and no socket route, but still serves pages', async () => {
      const app = await startApp({ wsEnabled: false, features: [testFeature(new Probe())] });
      expect(app.app.sockets).to.equal(undefined);
      expect((await refusedUpgrade(app.url('/example/socket?ch=x'))).status).to.equal(404);
      expect((await refusedUpgrade(app.url('/t'))).status).to.equal(404);
      const page = await fetch(app.httpUrl('/example'));
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include('data-channel="example"');
    });
  });
});

describe('config', () => {
  afterEach(closeAll);

  it('loadConfig names the bad variable in a ConfigError', () => {
    expect(() => loadConfig({ PORT: 'abc' }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/PORT="abc"/);
    expect(() => loadConfig({ WS_PING_INTERVAL_MS: '5' })).to.throw(ConfigError, /WS_PING_INTERVAL_MS/);
    expect(() => loadConfig({ WS_ENABLED: 'maybe' })).to.throw(ConfigError, /WS_ENABLED/);
    expect(() => loadConfig({ CLUSTER_HEARTBEAT_MS: '1000', CLUSTER_NODE_TTL_MS: '1500' })).to.throw(ConfigError, /CLUSTER_NODE_TTL_MS="1500": must be at least twice CLUSTER_HEARTBEAT_MS \(1000\)/);
  });

  it('parses WS_ENABLED=false and numbers from strings', () => {
    expect(loadConfig({ WS_ENABLED: 'false' }).wsEnabled).to.equal(false);
    expect(loadConfig({ WS_ENABLED: '0' }).wsEnabled).to.equal(false);
    expect(loadConfig({ WS_ENABLED: 'true' }).wsEnabled).to.equal(true);
    const c = loadConfig({ PORT: '9000', WS_MAX_PAYLOAD: '1024', WS_PING_INTERVAL_MS: '1000' });
    expect(c.port).to.equal(9000);
    expect(c.socket).to.include({ maxPayload: 1024, pingIntervalMs: 1000 });
  });

  it('defaults: PORT 8100, WebSockets on, ping 25 s, 64 KiB frames, 1 MiB buffered', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(8100);
    expect(c.wsEnabled).to.equal(true);
    expect(c.socket).to.include({ pingIntervalMs: 25_000, maxPayload: 65_536, maxBufferedBytes: 1_048_576 });
  });

  it('createApp merges socket options field by field over the defaults', async () => {
    const app = await startApp({ socket: { maxPayload: 2048 } });
    expect(app.app.sockets!.options).to.include({ maxPayload: 2048, maxBufferedBytes: 1_048_576, pingIntervalMs: 25_000 });
  });
});

describe('views', () => {
  afterEach(closeAll);

  it('html escapes every interpolation', () => {
    expect(html`<p>${'<script>alert("x")</script>'}</p>`.value).to.equal('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(html`<a title='${"it's & `that`"}'>`.value).to.equal("<a title='it&#39;s &amp; &#96;that&#96;'>");
    expect(html`${null}${undefined}${false}${0}`.value).to.equal('0');
    expect(html`<ul>${['<a>', '<b>'].map((s) => html`<li>${s}</li>`)}</ul>`.value).to.equal('<ul><li>&lt;a&gt;</li><li>&lt;b&gt;</li></ul>');
  });

  it('passes safe() and nested html through unescaped', () => {
    expect(html`<p>${safe('<b>bold</b>')}</p>`.value).to.equal('<p><b>bold</b></p>');
    expect(html`<div>${html`<i>${'<x>'}</i>`}</div>`.value).to.equal('<div><i>&lt;x&gt;</i></div>');
  });

  it('the example page escapes its channel', () => {
    const page = examplePage('<img src=x onerror=alert(1)>"');
    expect(page).to.not.include('<img');
    expect(page).to.include('data-channel="&lt;img src=x onerror=alert(1)&gt;&quot;"');
  });

  it('GET /example renders the channel from ?ch= and falls back for an invalid one', async () => {
    const app = await startApp();
    const ok = await fetch(app.httpUrl('/example?ch=room-7'));
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.match(/^text\/html/);
    const body = await ok.text();
    expect(body).to.include('data-channel="room-7"').and.include('<code>room-7</code>');
    const bad = await (await fetch(app.httpUrl(`/example?ch=${encodeURIComponent('<script>alert(1)</script>')}`))).text();
    expect(bad).to.not.include('<script>alert(1)');
    expect(bad).to.include('data-channel="example"');
  });
});
