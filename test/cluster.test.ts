/**
 * The cluster, for real: a redis-server started here on a free port (and, for the scenarios every
 * backend must pass, a Redis Cluster of 3 masters and 3 replicas too), wsforge nodes as separate
 * processes (`node dist/main.js`, built by npm test) and in-process ones (createApp), real ws
 * clients and the real Socket client. No mocks. Every process is SIGKILLed in the after hooks.
 */
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import * as Y from 'yjs';
import { ClusterKeys } from '../server/cluster/cluster-keys';
import { Keys } from '../server/cluster/keys';
import { RedisStore } from '../server/cluster/redis-store';
import { withScripts } from '../server/cluster/scripts';
import { fromBase64, toBase64 } from '../server/features/editor/document';
import { completeFrames, MemoryHistory, type Position } from '../server/socket/history';
import type { SocketError } from '../server/socket/errors';
import type { Status } from '../server/socket/status';
import { findConnection, kickConnection, kickUser, sendToConnection } from '../admin/actions';
import { channelSnapshot } from '../admin/snapshots';
import { closeAll, connect, eventually, sleep, startApp, within, type Frame, type TestApp, type TestClient } from './helpers';
import { backends, onRedis, onRedisCluster, type BackendAddress, type RunningBackend } from './cluster/backends';
import { guestCookie, RecordingSocket } from './cluster/clients';
import { killAll, NodeProcess, RedisServer } from './cluster/processes';
import { RoundRobinProxy } from './cluster/proxy';
import { RedisClusterServers } from './cluster/redis-cluster';
import { describeRestart, restartMidStream } from './cluster/restart';
import { storeContract } from './store-contract';

const secret = 'cluster-test-session-secret-0123456789';
/** Fast heartbeats so a dead node is noticed within the test's time. */
const heartbeatMs = 200;
const nodeTtlMs = 1500;
const clusterEnv = { SESSION_SECRET: secret, CLUSTER_HEARTBEAT_MS: String(heartbeatMs), CLUSTER_NODE_TTL_MS: String(nodeTtlMs) };

/** Node processes on one backend, under their own key prefix. */
async function startNodes(on: BackendAddress, prefix: string, ids: string[], env: Record<string, string> = {}): Promise<NodeProcess[]> {
  return Promise.all(ids.map((nodeId) => NodeProcess.start({ nodeId, env: { ...clusterEnv, ...on.env, REDIS_PREFIX: prefix, ...env } })));
}

/** kill -9 of node processes (not killAll: the backend's servers outlive a suite). */
async function killNodes(nodes: NodeProcess[]): Promise<void> {
  for (const n of nodes) await n.kill();
}

/** An in-process node of the same cluster (for calling the service's API directly). */
function startInProcessNode(on: BackendAddress, prefix: string, nodeId: string, socket: Record<string, number> = {}): Promise<TestApp> {
  return startApp({
    nodeId,
    sessionSecret: secret,
    cluster: { ...on.connection, prefix, heartbeatMs, nodeTtlMs },
    socket: { clusterStatusTimeoutMs: 1000, ...socket },
  });
}

/** A frame with the position the bus stamped on it (channel frames, when history is on). */
type Stamped = Frame & Partial<Position>;
const chatSocket = (room: string, name: string) => `/examples/chat/socket?room=${room}&name=${name}`;
/** A presence-diff's changes: [user id, joined (true) or left (false), name]. */
const changes = (f: Frame): Array<[string, boolean, string]> =>
  f.cmd === 'presence-diff'
    ? [...f.param.joins.map((u: { userId: string; name: string }) => [u.userId, true, u.name]), ...f.param.leaves.map((u: { userId: string; name: string }) => [u.userId, false, u.name])]
    : [];
const isOnline = (userId: string, connected: boolean) => (f: Frame) => changes(f).some(([id, joined]) => id === userId && joined === connected);

/** Sends `m1`…`m<count>` on `channel` through the example route's chat cmd, one every `everyMs`; records when each was sent. */
/** One RecordingSocket per node given, on `channel` of the example route, open and joined; also added to `into` (closed after the test). */
async function subscribedOn(nodes: NodeProcess[], channel: string, into: RecordingSocket[]): Promise<RecordingSocket[]> {
  const subs = nodes.map((n) => new RecordingSocket(n.url(`/example/socket?ch=${channel}`)));
  into.push(...subs);
  for (const s of subs) await eventually(() => expect(s.opens).to.equal(1), 3000);
  // Open is not joined: a request's answer comes after the route channel's join (a Redis SUBSCRIBE).
  await Promise.all(subs.map((s) => s.socket.presence(channel)));
  return subs;
}

/**
 * Waits until every subscriber got message `total` (delivery resumed by itself), checks each got
 * its messages in order and once whatever was lost, and returns the messages some subscriber never got.
 */
async function resumedInOrder(subs: RecordingSocket[], channel: string, total: number, timeoutMs: number): Promise<number[]> {
  await eventually(() => {
    for (const s of subs) expect(s.numbers(channel), 'delivery resumes by itself').to.include(total);
  }, timeoutMs, 50);
  await sleep(300); // anything duplicated would have arrived by now
  const lost = new Set<number>();
  for (const [i, s] of subs.entries()) {
    const got = s.numbers(channel);
    expect(got, `subscriber ${i} in order, once`).to.deep.equal([...new Set(got)].sort((a, b) => a - b));
    for (const n of range(1, total)) if (!got.includes(n)) lost.add(n);
  }
  return [...lost].sort((a, b) => a - b);
}

async function publishNumbered(c: TestClient, channel: string, count: number, everyMs: number, onSent?: (n: number) => void | Promise<void>): Promise<number[]> {
  const sentAt: number[] = [];
  const start = Date.now();
  for (let n = 1; n <= count; n++) {
    // A steady rate, not drifting with the loop's own time.
    const due = start + (n - 1) * everyMs;
    if (due > Date.now()) await sleep(due - Date.now());
    c.send({ channel, cmd: 'chat', param: { text: `m${n}` } });
    sentAt[n] = Date.now();
    await onSent?.(n);
  }
  return sentAt;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// What a cluster must do whatever it runs on, so run on each backend: one Redis and a Redis Cluster
// (3 masters, 3 replicas). What only one Redis does (its restart, its keys) is tested below, on it.
for (const kind of backends) {
  describe(`cluster on ${kind.name}`, function () {
    let backend: RunningBackend;

    before(async function () {
      this.timeout(60_000); // a Redis Cluster takes a few seconds to form
      backend = await kind.start();
    });
    after(async () => {
      await backend?.close();
      killAll(); // whatever a failed start left running
    });

    describe('three node processes', function () {
      this.timeout(30_000);
      const prefix = 'c1:';
      let nodes: NodeProcess[] = [];
      let n0: TestApp;
      const clients: TestClient[] = [];

      before(async () => {
        nodes = await startNodes(backend, prefix, ['n1', 'n2', 'n3']);
        n0 = await startInProcessNode(backend, prefix, 'n0');
      });
      afterEach(() => {
        for (const c of clients.splice(0)) c.terminate();
      });
      after(async () => {
        await closeAll();
        await killNodes(nodes);
      });

      async function client(url: string, cookie?: string): Promise<TestClient> {
        const c = await connect(url, cookie ? { headers: { cookie } } : {});
        clients.push(c);
        return c;
      }

      /** A chat tab of the browser holding `cookie`, on one node; resolves once its `state` (so its joins) arrived. */
      async function chatTab(url: string, cookie: string): Promise<{ c: TestClient; userId: string }> {
        const c = await client(url, cookie);
        const state = await c.waitFor({ cmd: 'state' }, 5000);
        return { c, userId: state.param.you.id };
      }

      it('delivers channel messages between clients on different nodes, once each', async () => {
        const [a, b, c] = await Promise.all(nodes.map((n) => client(n.url('/example/socket?ch=room1'))));
        // Everyone has joined (and so subscribed) once each has answered a round trip.
        await Promise.all([a, b, c].map((x) => x!.sync()));
        a!.send({ channel: 'room1', cmd: 'chat', param: { text: 'hello from n1' } });
        c!.send({ channel: 'room1', cmd: 'chat', param: { text: 'hello from n3' } });
        for (const x of [a, b, c]) {
          await eventually(() => expect(x!.frames.filter((f) => f.cmd === 'chat').map((f) => f.param.text).sort()).to.deep.equal(['hello from n1', 'hello from n3']), 3000);
        }
        // One order for everyone: Redis stamps the offsets.
        const orders = [a, b, c].map((x) => x!.frames.filter((f) => f.cmd === 'chat').map((f) => `${(f as Stamped).offset}:${f.param.text}`));
        expect(orders[1]).to.deep.equal(orders[0]);
        expect(orders[2]).to.deep.equal(orders[0]);
      });

      it('delivers user messages to every tab of a user, on every node (chat private, writeUser)', async () => {
        const u = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const v = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const u2 = await chatTab(nodes[1]!.url(chatSocket('pm', 'ulla')), u);
        const u3 = await chatTab(nodes[2]!.url(chatSocket('pm', 'ulla')), u);
        const v1 = await chatTab(nodes[0]!.url(chatSocket('pm', 'vic')), v);
        expect(u2.userId).to.equal(u3.userId);
        // Sent on its own room channel: the handler answers on the user topics whatever the frame's channel.
        const answer = await v1.c.request('chat:pm', 'private', { to: u2.userId, text: 'psst' }, { timeoutMs: 3000 });
        expect(answer.cmd, JSON.stringify(answer)).to.equal('reply');
        for (const tab of [u2, u3, v1]) {
          const pm = await tab.c.waitFor({ cmd: 'private' }, 3000);
          expect(pm.param).to.include({ text: 'psst' });
          expect(pm.param.from.id).to.equal(v1.userId);
        }
        // And from the service API of another node.
        n0.app.sockets!.writeUser(u2.userId, { channel: 'chat', cmd: 'note', param: { n: 1 } });
        await Promise.all([u2, u3].map((tab) => tab.c.waitFor({ cmd: 'note' }, 3000)));
        await v1.c.sync();
        expect(v1.c.frames.some((f) => f.cmd === 'note')).to.equal(false);
      });

      it("shows a channel's members on every node on the admin channel page (channelSnapshot)", async () => {
        await client(nodes[0]!.url('/example/socket?ch=seen-everywhere'));
        await client(nodes[2]!.url('/example/socket?ch=seen-everywhere'));
        await client(n0.url('/example/socket?ch=seen-everywhere'));
        const snapshot = await eventually(async () => {
          const s = await channelSnapshot('seen-everywhere', { q: '', offset: 0 }, 50, () => n0.app.sockets!.clusterStatus());
          expect(s.memberCount).to.equal(3);
          return s;
        }, 5000);
        expect(snapshot.members.rows.map((c) => c.node).sort()).to.deep.equal(['n0', 'n1', 'n3']);
        expect(snapshot).to.include({ users: 3 });
        expect(snapshot.missing).to.deep.equal([]);
      });

      it('delivers broadcasts (writeAll) to the connections of every node', async () => {
        const xs = await Promise.all(nodes.map((n, i) => client(n.url(`/example/socket?ch=solo${i}`))));
        const mine = await client(n0.url('/example/socket?ch=solo-n0'));
        await Promise.all([...xs, mine].map((x) => x.sync()));
        n0.app.sockets!.writeAll({ channel: 'announcements', cmd: 'notice', param: { text: 'maintenance at noon' } });
        for (const x of [...xs, mine]) expect((await x.waitFor({ cmd: 'notice' }, 3000)).param.text).to.equal('maintenance at noon');
      });

      it('shows every node and its connections in cluster status (service API and /admin/sockets.json)', async () => {
        const u = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const t1 = await chatTab(nodes[0]!.url(chatSocket('status', 'sam')), u);
        await chatTab(nodes[2]!.url(chatSocket('status', 'sam')), u);
        const check = (s: Status & { nodes?: string[] }) => {
          expect(s.nodes).to.have.members(['n0', 'n1', 'n2', 'n3']);
          const tabs = s.connections.filter((c) => c.profile.id === t1.userId);
          expect(tabs.map((c) => c.node).sort()).to.deep.equal(['n1', 'n3']);
          const room = s.channels.find((c) => c.key === 'chat:status');
          expect(room).to.deep.equal({ key: 'chat:status', members: 2, users: 1 });
          expect(s.counts.connections).to.equal(s.connections.length);
        };
        check(await n0.app.sockets!.clusterStatus());
        const res = await fetch(nodes[1]!.httpUrl('/admin/sockets.json'));
        expect(res.status).to.equal(200);
        check((await res.json()) as Status & { nodes: string[] });
      });

      it('counts a user with tabs on two nodes once in presence', async () => {
        const u = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const v = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const a = await chatTab(nodes[0]!.url(chatSocket('pres', 'pia')), u);
        await chatTab(nodes[1]!.url(chatSocket('pres', 'pia')), u);
        await chatTab(nodes[2]!.url(chatSocket('pres', 'pia')), u);
        const b = await chatTab(nodes[1]!.url(chatSocket('pres', 'bo')), v);
        const users = await n0.app.sockets!.presence('chat:pres');
        expect(users.map((x) => x.id).sort()).to.deep.equal([a.userId, b.userId].sort());
        expect(users.find((x) => x.id === a.userId)!.name).to.equal('pia');
      });

      it("announces a user's first join anywhere and last leave anywhere only", async () => {
        const room = 'chat:ou';
        const watcher = await chatTab(nodes[0]!.url(chatSocket('ou', 'watcher')), await guestCookie(nodes[0]!.httpUrl('/examples/chat')));
        const w = await guestCookie(nodes[0]!.httpUrl('/examples/chat'));
        const updates = (userId: string) => watcher.c.frames.filter((f) => f.channel === room).flatMap(changes).filter(([id]) => id === userId).map(([, joined]) => joined);
        /** A frame published now reaches the watcher after anything published before it in the room (Redis's one order). */
        let marks = 0;
        const barrier = async () => {
          const n = ++marks;
          n0.app.sockets!.writeChannel({ channel: room, cmd: 'mark', param: { n } });
          await watcher.c.waitFor({ cmd: 'mark', param: { n } }, 3000);
        };
        // First tab anywhere: online.
        const t2 = await chatTab(nodes[1]!.url(chatSocket('ou', 'wim')), w);
        await watcher.c.waitFor(isOnline(t2.userId, true), 3000);
        // Second tab, on another node: nothing.
        const t3 = await chatTab(nodes[2]!.url(chatSocket('ou', 'wim')), w);
        await barrier();
        expect(updates(t2.userId)).to.deep.equal([true]);
        // First tab closes: the user is still here through the other node.
        await t2.c.close();
        await eventually(async () => expect((await n0.app.sockets!.presence(room)).map((u) => u.id)).to.include(t2.userId), 3000);
        await sleep(200);
        await barrier();
        expect(updates(t2.userId)).to.deep.equal([true]);
        // Last tab anywhere closes: offline.
        await t3.c.close();
        await watcher.c.waitFor(isOnline(t2.userId, false), 3000);
        await barrier();
        expect(updates(t2.userId)).to.deep.equal([true, false]);
      });

      it("drops a killed node from status after CLUSTER_NODE_TTL_MS and tells its users' channels they left", async () => {
        const room = 'chat:reaped';
        const watcher = await chatTab(nodes[0]!.url(chatSocket('reaped', 'watcher')), await guestCookie(nodes[0]!.httpUrl('/examples/chat')));
        const doomed = await chatTab(nodes[2]!.url(chatSocket('reaped', 'xia')), await guestCookie(nodes[0]!.httpUrl('/examples/chat')));
        await watcher.c.waitFor(isOnline(doomed.userId, true), 3000);
        expect((await n0.app.sockets!.clusterStatus()).nodes).to.include('n3');
        const killedAt = Date.now();
        await nodes[2]!.kill();
        const gone = await watcher.c.waitFor((f) => f.channel === room && isOnline(doomed.userId, false)(f), nodeTtlMs + 4 * heartbeatMs + 2000);
        const noticedMs = Date.now() - killedAt;
        expect(changes(gone).find(([id]) => id === doomed.userId)![2]).to.equal('xia');
        expect(noticedMs, 'not before the TTL ran out').to.be.at.least(nodeTtlMs - heartbeatMs);
        const s = await n0.app.sockets!.clusterStatus();
        expect(s.nodes).to.have.members(['n0', 'n1', 'n2']);
        expect(s.connections.some((c) => c.node === 'n3')).to.equal(false);
        expect((await n0.app.sockets!.presence(room)).map((u) => u.id)).to.deep.equal([watcher.userId]);
      });
    });

    describe('kill -9 of a node mid-stream', function () {
      this.timeout(40_000);
      let nodes: NodeProcess[] = [];
      let proxy: RoundRobinProxy;
      const subscribers: RecordingSocket[] = [];

      before(async () => {
        nodes = await startNodes(backend, 'c2:', ['k1', 'k2', 'k3']);
        proxy = await RoundRobinProxy.start(nodes.map((n) => n.port));
      });
      after(async () => {
        for (const s of subscribers) s.close();
        await proxy?.close();
        await closeAll();
        await killNodes(nodes);
      });

      it('resumes the killed node\'s clients on the others: every subscriber gets every message once, in order', async () => {
        const total = 200;
        const channel = 'stream';
        // Half the subscribers have the stream as route channel (resumed through `wsf_since` in the
        // URL), half join it by frame (resumed through join `{since}`). Round robin: 2 per node.
        for (let i = 0; i < 6; i++) {
          const s = new RecordingSocket(proxy.url(i % 2 === 0 ? `/example/socket?ch=${channel}` : `/example/socket?ch=home${i}`));
          subscribers.push(s);
          await eventually(() => expect(s.opens).to.equal(1), 3000);
          if (i % 2 === 1) await s.socket.join(channel);
        }
        expect(proxy.routed).to.deep.equal([...nodes, ...nodes].map((n) => n.port));
        const onDoomed = subscribers.filter((_, i) => i % 3 === 2);
        // The publisher sits on a node that survives, outside the proxy.
        const publisher = await connect(nodes[0]!.url(`/example/socket?ch=${channel}`));
        await publisher.sync();
        // Every subscriber holds a position before the kill.
        let killedAt = 0;
        const sentAt = await publishNumbered(publisher, channel, total, 15, async (n) => {
          if (n === 60) {
            killedAt = Date.now();
            await nodes[2]!.kill();
          }
        });
        const doneAt = Date.now();
        await eventually(() => {
          for (const s of subscribers) expect(s.numbers(channel).length).to.be.at.least(total);
        }, 10_000, 50);
        await sleep(300); // anything duplicated would have arrived by now
        for (const [i, s] of subscribers.entries()) {
          const got = s.numbers(channel);
          const dup = got.find((x, j) => got.indexOf(x) !== j);
          if (dup !== undefined) {
            const rows = s.frames.map((f, j) => `${s.receivedAt[j]! - killedAt} ${f.channel} ${f.cmd} ${f.offset ?? ''} ${f.epoch ?? ''} ${JSON.stringify(f.param).slice(0, 60)}`);
            console.log(`DUP ${dup} sub ${i} opened ${s.openedAt.map((t) => t - killedAt)} closed ${s.closedAt.map((t) => t - killedAt)}\n${rows.filter((r) => !r.includes('"m') || r.includes(`"m${dup - 3}`) || r.includes(`"m${dup - 2}`) || r.includes(`"m${dup - 1}`) || r.includes(`"m${dup}"`) || r.includes(`"m${dup + 1}"`)).join('\n')}`);
          }
          expect(s.numbers(channel), `subscriber ${i}`).to.deep.equal(range(1, total));
          expect(s.count('recovery-failed'), `subscriber ${i}: recovery-failed`).to.equal(0);
        }
        for (const s of onDoomed) expect(s.opens, 'the killed node\'s subscribers reconnected').to.equal(2);
        // What was published while they were away came from history, not live.
        const away = onDoomed.map((s) => sentAt.filter((t) => t >= s.closedAt[0]! && t <= s.openedAt[1]!).length);
        for (const n of away) expect(n, 'messages published while a subscriber was reconnecting').to.be.greaterThan(0);
        // Reconnects went through the proxy to the survivors only.
        expect(proxy.routed.slice(6).filter((p) => p === nodes[2]!.port)).to.deep.equal([]);
        const messages = sentAt.length - 1;
        console.log(`      kill -9 after message 60 of ${messages}, ${doneAt - killedAt} ms before the last; ${onDoomed.length} subscribers moved, replayed ${away.join(' and ')} messages published while they reconnected`);
      });
    });
  });
}

describe('cluster: a node that does not answer status in time', function () {
  this.timeout(30_000);
  const prefix = 'c7:';
  const apiKey = 'cluster-api-key-0123456789';
  let redis: RedisServer;
  let slow: NodeProcess;
  let n0: TestApp;

  before(async () => {
    redis = await RedisServer.start();
    // A long TTL: stopped for a few seconds, the node stays live in the node list (not reaped).
    slow = (await startNodes(onRedis(redis), prefix, ['slow'], { CLUSTER_NODE_TTL_MS: '20000' }))[0]!;
    n0 = await startApp({ nodeId: 'n0', sessionSecret: secret, admin: { apiKey }, cluster: { redisUrl: redis.url, prefix, heartbeatMs, nodeTtlMs: 20_000 }, socket: { clusterStatusTimeoutMs: 300 } });
  });
  after(async () => {
    if (slow.alive) process.kill(slow.pid, 'SIGCONT');
    await closeAll();
    killAll();
  });

  it('names it in cluster status, and lookups of its connections answer node_unavailable (503), not unknown', async () => {
    await connect(slow.url('/example/socket?ch=stopped'));
    const id = await eventually(async () => {
      const c = (await n0.app.sockets!.clusterStatus()).connections.find((x) => x.node === 'slow' && x.channel === 'stopped');
      if (!c) throw new Error('not seen yet');
      return c.id;
    }, 5000);
    process.kill(slow.pid, 'SIGSTOP');
    try {
      const status = await n0.app.sockets!.clusterStatus();
      expect(status).to.deep.include({ nodes: ['n0'], missing: ['slow'] });
      const err = await findConnection(n0.app.sockets!, id).then(() => expect.fail('found on a stopped node'), (e: SocketError) => e);
      expect(err.code).to.equal('node_unavailable');
      expect(err.message).to.contain('node slow did not answer');
      const api = await fetch(n0.httpUrl('/api/sockets/disconnect'), {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connId: id, reason: 'test' }),
      });
      expect(api.status).to.equal(503);
      expect(((await api.json()) as { error: string }).error).to.contain('did not answer');
      const page = await fetch(n0.httpUrl(`/admin/sockets/conn/${id}`), { headers: { accept: 'text/html' } });
      expect(page.status).to.equal(503);
      expect((await (await fetch(n0.httpUrl('/admin/sockets.json'))).json()) as { missing: string[] }).to.deep.include({ missing: ['slow'] });
    } finally {
      process.kill(slow.pid, 'SIGCONT');
    }
    const back = await eventually(() => findConnection(n0.app.sockets!, id), 5000);
    expect(back).to.include({ id, node: 'slow' });
  });

  it("kicks a user's tabs on every node, the one that did not answer status included, through the user's topic", async () => {
    const cookie = await guestCookie(n0.httpUrl('/examples/chat'));
    const tab = async (url: string) => {
      const c = await connect(url, { headers: { cookie } });
      return { c, userId: (await c.waitFor({ cmd: 'state' }, 5000)).param.you.id as string };
    };
    const [here, there] = [await tab(n0.url(chatSocket('kick', 'kim'))), await tab(slow.url(chatSocket('kick', 'kim')))];
    expect(there.userId).to.equal(here.userId);
    process.kill(slow.pid, 'SIGSTOP');
    let answer: { disconnected: number };
    try {
      answer = await kickUser(n0.app.sockets!, here.userId, 'kicked everywhere');
    } finally {
      process.kill(slow.pid, 'SIGCONT');
    }
    // The stopped node's tab was not in the status, but the kick reached it once it ran again.
    expect(answer).to.deep.equal({ disconnected: 1 });
    for (const { c } of [here, there]) {
      expect((await c.waitFor({ cmd: 'close-connection' }, 5000)).param).to.deep.equal({ reason: 'kicked everywhere' });
      expect((await within(c.closed, 5000, 'kicked tab closed')).code).to.equal(4000);
    }
  });
});

describe('cluster: Redis restarted mid-stream', function () {
  this.timeout(40_000);
  let redis: RedisServer;
  let nodes: NodeProcess[];
  const subscribers: RecordingSocket[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(onRedis(redis), 'c3:', ['r1', 'r2', 'r3']);
  });
  after(async () => {
    for (const s of subscribers) s.close();
    await closeAll();
    killAll();
  });

  it('fills from history what a node missed while its subscriber connection was cut (Redis up): nothing lost, no recovery-failed', async () => {
    const channel = 'blip';
    const total = 120;
    const subs = await subscribedOn(nodes, channel, subscribers);
    const publisher = await connect(nodes[0]!.url(`/example/socket?ch=${channel}`));
    await publisher.sync();
    const admin = new Redis(redis.url);
    try {
      await publishNumbered(publisher, channel, total, 10, async (n) => {
        // Every node's pub/sub connection drops; ioredis reconnects it after ~100 ms while publishing goes on.
        if (n === 30) await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      });
    } finally {
      admin.disconnect();
    }
    await eventually(() => {
      for (const s of subs) expect(s.numbers(channel)).to.deep.equal(range(1, total));
    }, 10_000, 50);
    for (const s of subs) expect(s.count('recovery-failed')).to.equal(0);
    for (const n of nodes) expect(n.log.some((l) => l.includes('subscriber connection is back')), `${n.id} reconnected its subscriber`).to.equal(true);
  });

  it('reconnects every node by itself and resumes delivery; the loss is bounded by the outage', async () => {
    const channel = 'feed';
    const total = 250;
    const everyMs = 20;
    const subs = await subscribedOn([...nodes, ...nodes], channel, subscribers);
    const publisher = await connect(nodes[0]!.url(`/example/socket?ch=${channel}`));
    await publisher.sync();
    let killedAt = 0;
    let restartedAt = 0;
    let restarting: Promise<void> | undefined;
    const sentAt = await publishNumbered(publisher, channel, total, everyMs, async (n) => {
      if (n === 50) {
        killedAt = Date.now();
        await redis.kill();
        // Back on the same port 1 s later, while the publisher goes on.
        restarting = sleep(1000).then(async () => {
          await redis.restart();
          restartedAt = Date.now();
        });
      }
    });
    await restarting;
    const lastSent = sentAt[total]!;
    const lostList = await resumedInOrder(subs, channel, total, 10_000);
    const rel = (t: number) => t - killedAt;
    const firstLost = lostList[0];
    const lastLost = lostList[lostList.length - 1];
    const perSubscriber = subs.map((s) => total - s.numbers(channel).length);
    const recovered = range(1, total).filter((n) => sentAt[n]! >= killedAt && sentAt[n]! <= restartedAt && !lostList.includes(n)).length;
    const sentDuringOutage = range(1, total).filter((n) => sentAt[n]! >= killedAt && sentAt[n]! <= restartedAt).length;
    // Each subscriber's longest wait between two chat frames, and its first chat frame once Redis was back.
    const chatTimes = subs.map((s) => s.receivedAt.filter((_, i) => s.frames[i]!.cmd === 'chat'));
    const silences = chatTimes.map((times) => times.slice(1).reduce((m, t, i) => Math.max(m, t - times[i]!), 0));
    const resumedAfterRestart = chatTimes.map((times) => times.find((t) => t >= restartedAt)! - restartedAt);
    console.log(
      `      Redis down ${restartedAt - killedAt} ms (kill at message 50, ${everyMs} ms apart); ${sentDuringOutage} messages sent while it was down, ${recovered} of them delivered to everyone after the restart\n` +
        `      lost (some subscriber never got it): ${lostList.length} messages` +
        (lostList.length ? ` m${firstLost}…m${lastLost}, sent from ${rel(sentAt[firstLost!]!)} to ${rel(sentAt[lastLost!]!)} ms after the kill` : '') +
        `; missing per subscriber: ${perSubscriber.join(', ')}\n` +
        `      longest wait between two messages per subscriber: ${silences.join(', ')} ms; first message ${resumedAfterRestart.join(', ')} ms after Redis was back; recovery-failed per subscriber: ${subs.map((s) => s.count('recovery-failed')).join(', ')}`,
    );
    // Bounded by the outage: nothing sent before the kill or well after the restart is lost.
    for (const n of lostList) expect(sentAt[n]!, `m${n} lost`).to.be.within(killedAt - 2 * everyMs, restartedAt + 3000);
    expect(lastSent - restartedAt, 'the stream went on well past the restart').to.be.greaterThan(1500);
    // Frames after the restart carry a new epoch: the history of the old one is gone with Redis,
    // and every subscriber is told so once (its app resyncs; its frames go on in the new epoch).
    for (const s of subs) {
      expect(new Set(s.frames.filter((f) => f.cmd === 'chat').map((f) => f.epoch)).size).to.equal(2);
      expect(s.count('recovery-failed')).to.equal(1);
    }
  });

  it('at 100 frames a second with the default WS_HISTORY_SIZE: hands on every frame history still holds; loses only what is really gone, after one recovery-failed', async () => {
    const channel = 'fast';
    const on = [...nodes, ...nodes];
    const subs = (await subscribedOn(on, channel, subscribers)).map((socket, i) => ({ node: on[i]!.id, socket }));
    // The publisher is a node of its own, in process: 100 frames a second from one client would be rate limited.
    const publisher = (await startInProcessNode(onRedis(redis), 'c3:', 'r0')).app.sockets!;
    const result = await restartMidStream({
      redis,
      subscribers: subs,
      channel,
      publish: (n) => publisher.writeChannel({ channel, cmd: 'chat', param: { text: `m${n}` } }),
      rate: 100,
      killAfter: 50,
      downMs: 1000,
      total: 450,
      historySize: 100,
    });
    console.log(`      ${describeRestart(result)}`);
    // What was lost was really gone: the old epoch's frames in flight at the kill, the new epoch's
    // start trimmed before a node could read it; one recovery-failed each, before the new epoch.
    expect(result.violations).to.deep.equal([]);
    // And the new epoch's frames reached everyone from where history held them on.
    for (const s of result.subscribers) expect(s.lostNew).to.be.at.most(s.gone);
  });
});

describe('cluster: a Redis Cluster master killed mid-stream', function () {
  this.timeout(60_000); // the Redis Cluster takes a few seconds to form
  // Its own Redis Cluster: the failover leaves a master without a replica, for good.
  let servers: RedisClusterServers;
  let nodes: NodeProcess[] = [];
  const subscribers: RecordingSocket[] = [];
  const prefix = 'c6:';

  before(async () => {
    servers = await RedisClusterServers.start();
    // A node TTL past the failover: nobody is reaped while the registry's shard may be down.
    nodes = await startNodes(onRedisCluster(servers), prefix, ['f1', 'f2', 'f3'], { CLUSTER_NODE_TTL_MS: '10000' });
  });
  after(async () => {
    for (const s of subscribers) s.close();
    await closeAll();
    await killNodes(nodes);
    await servers?.close();
  });

  it("resumes delivery on every node by itself after the replica of the channel's master is promoted; the loss is bounded by the promotion", async () => {
    const channel = 'failover';
    const total = 300;
    const everyMs = 20; // 50 a second: within the route's WS_RATE_LIMIT_PER_SECOND
    const slot = Number(await servers.call(servers.alive()[0]!, 'CLUSTER', 'KEYSLOT', new ClusterKeys(prefix).channelTopic(channel)));
    const master = await servers.masterOf(slot);
    const subs = await subscribedOn(nodes, channel, subscribers);
    const publisher = await connect(nodes[0]!.url(`/example/socket?ch=${channel}`));
    await publisher.sync();
    let killedAt = 0;
    let promotedAt = 0;
    let promoted = 0;
    let promoting: Promise<void> | undefined;
    const sentAt = await publishNumbered(publisher, channel, total, everyMs, async (n) => {
      if (n !== 50) return;
      killedAt = Date.now();
      await servers.kill(master);
      // Watched while the publisher goes on.
      promoting = (async () => {
        while ((promoted = await servers.masterOf(slot).catch(() => master)) === master) await sleep(50);
        promotedAt = Date.now();
      })();
    });
    await promoting;
    expect(sentAt[total]! - promotedAt, 'the stream went on well past the promotion').to.be.greaterThan(1500);
    const lostList = await resumedInOrder(subs, channel, total, 15_000);
    const sentInWindow = range(1, total).filter((n) => sentAt[n]! >= killedAt && sentAt[n]! <= promotedAt).length;
    const chatTimes = subs.map((s) => s.receivedAt.filter((_, i) => s.frames[i]!.cmd === 'chat'));
    const stalls = chatTimes.map((times) => times.slice(1).reduce((m, t, i) => Math.max(m, t - times[i]!), 0));
    console.log(
      `      master :${master} killed at message 50 (${everyMs} ms apart), replica :${promoted} promoted ${promotedAt - killedAt} ms later; ${sentInWindow} messages sent meanwhile\n` +
        `      lost (some subscriber never got it): ${lostList.length}${lostList.length ? ` (m${lostList.join(', m')})` : ''}; missing per subscriber (on f1, f2, f3): ${subs.map((s) => total - s.numbers(channel).length).join(', ')}; ` +
        `recovery-failed per subscriber: ${subs.map((s) => s.count('recovery-failed')).join(', ')}; longest wait between two messages per subscriber: ${stalls.join(', ')} ms`,
    );
    // What a failover may lose (docs/cluster.md, "Redis Cluster"): what the dead master had
    // published that was in flight, and what was published until the promotion.
    for (const n of lostList) expect(sentAt[n]!, `m${n} lost`).to.be.within(killedAt - 2 * everyMs, promotedAt);
    for (const s of subs) expect(s.count('recovery-failed'), 'members told of a possible loss at most once').to.be.at.most(1);
  });
});

describe('cluster: presence after a Redis restart', function () {
  this.timeout(30_000);
  const prefix = 'c5:';
  const room = 'chat:back';
  let redis: RedisServer;
  let nodes: NodeProcess[];
  let n0: TestApp;

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(onRedis(redis), prefix, ['q1', 'q2', 'q3']);
    n0 = await startInProcessNode(onRedis(redis), prefix, 'q0');
  });
  after(async () => {
    await closeAll();
    killAll();
  });

  /** A chat tab in the room, of the browser holding `cookie`; resolves once its `state` (so its joins) arrived. */
  async function tab(node: { url(path: string): string }, name: string, cookie: string): Promise<{ c: TestClient; userId: string }> {
    const c = await connect(node.url(chatSocket('back', name)), { headers: { cookie } });
    const state = await c.waitFor({ cmd: 'state' }, 5000);
    return { c, userId: state.param.you.id };
  }

  /** Every presence key under the prefix (channel hashes and node sets), as Redis holds it. */
  async function presenceInRedis(): Promise<Record<string, Record<string, string> | string[]>> {
    const r = new Redis(redis.url);
    try {
      const out: Record<string, Record<string, string> | string[]> = {};
      for (const key of (await r.keys(`${prefix}p*`)).sort()) out[key] = key.startsWith(`${prefix}pn:`) ? (await r.smembers(key)).sort() : await r.hgetall(key);
      return out;
    } finally {
      r.disconnect();
    }
  }

  it('writes each node\'s presence back once Redis is back empty: same users everywhere, tabs per node, no presence-diff', async () => {
    const cookie = () => guestCookie(nodes[0]!.httpUrl('/examples/chat'));
    const [u, v, w] = await Promise.all([cookie(), cookie(), cookie()]);
    // uma: two tabs on q1 and one on q2; vic on q3; wes on q0 (in process).
    const u1 = await tab(nodes[0]!, 'uma', u);
    const u1b = await tab(nodes[0]!, 'uma', u);
    const u2 = await tab(nodes[1]!, 'uma', u);
    const v3 = await tab(nodes[2]!, 'vic', v);
    const w0 = await tab(n0, 'wes', w);
    const uma = u1.userId;
    const everyone = [uma, v3.userId, w0.userId].sort();
    const stay = [u1, u2, v3, w0]; // one tab on each node
    const presentFor = async (t: { c: TestClient }) => ((await t.c.request(room, 'presence', {}, { timeoutMs: 3000 })).param.users as Array<{ id: string }>).map((x) => x.id).sort();
    for (const t of stay) expect(await presentFor(t)).to.deep.equal(everyone);
    const held = await presenceInRedis();
    expect(held[`${prefix}p:${room}`]).to.deep.equal({
      [`q1\t${uma}`]: '2',
      [`q2\t${uma}`]: '1',
      [`q3\t${v3.userId}`]: '1',
      [`q0\t${w0.userId}`]: '1',
      [`#\t${uma}`]: 'uma',
      [`#\t${v3.userId}`]: 'vic',
      [`#\t${w0.userId}`]: 'wes',
    });
    // What Redis must hold again: the same, but one tab of uma's on q1 closes while Redis is down.
    const expected = Object.fromEntries(Object.entries(held).map(([key, value]) => [key, Array.isArray(value) || !value[`q1\t${uma}`] ? value : { ...value, [`q1\t${uma}`]: '1' }]));
    const updatesBefore = stay.map((t) => t.c.frames.filter((f) => f.cmd === 'presence-diff').length);

    await redis.kill();
    await u1b.c.close();
    await sleep(500);
    await redis.restart();
    const restartedAt = Date.now();
    // Every node lists everyone again (the `presence` request), and Redis holds every node's counts.
    await eventually(async () => {
      for (const t of stay) expect(await presentFor(t)).to.deep.equal(everyone);
      expect(await presenceInRedis()).to.deep.equal(expected);
    }, 5000, 50);
    const backMs = Date.now() - restartedAt;
    expect((await n0.app.sockets!.presence(room)).map((x) => x.id).sort()).to.deep.equal(everyone);
    for (const n of nodes) expect(n.log.some((l) => l.includes('presence written back')), `${n.id} wrote its presence back`).to.equal(true);
    // Silent, the tab that closed meanwhile included: nothing published before this mark was a presence-diff.
    n0.app.sockets!.writeChannel({ channel: room, cmd: 'mark', param: { n: 1 } });
    for (const t of stay) await t.c.waitFor({ cmd: 'mark', param: { n: 1 } }, 3000);
    expect(stay.map((t) => t.c.frames.filter((f) => f.cmd === 'presence-diff').length)).to.deep.equal(updatesBefore);
    console.log(`      presence complete again on every node and in Redis ${backMs} ms after Redis was back (down ≈ 500 ms)`);

    // The counts are right, not just present: uma leaves with her last tab, and is announced once.
    await u2.c.close();
    await eventually(async () => expect((await presenceInRedis())[`${prefix}p:${room}`]).to.not.have.property(`q2\t${uma}`), 3000);
    expect(await presentFor(v3)).to.include(uma);
    await u1.c.close();
    for (const t of [v3, w0]) await t.c.waitFor(isOnline(uma, false), 3000);
    expect(await presentFor(v3)).to.deep.equal([v3.userId, w0.userId].sort());
    // A user arriving now is announced as before.
    const x = await tab(nodes[1]!, 'xan', await cookie());
    for (const t of [v3, w0]) await t.c.waitFor(isOnline(x.userId, true), 3000);
    n0.app.sockets!.writeChannel({ channel: room, cmd: 'mark', param: { n: 2 } });
    for (const t of [v3, w0]) {
      await t.c.waitFor({ cmd: 'mark', param: { n: 2 } }, 3000);
      // In the room (the chat's directory channel has its own).
      const later = t.c.frames.filter((f) => f.cmd === 'presence-diff').slice(updatesBefore[stay.indexOf(t)]).filter((f) => f.channel === room);
      expect(later.flatMap(changes).map(([id, joined]) => `${id === uma ? 'uma' : 'xan'}:${joined}`)).to.deep.equal(['uma:false', 'xan:true']);
    }
  });
});

describe('history: MemoryHistory', () => {
  const frame = (n: number) => JSON.stringify({ channel: 'c', cmd: 'x', param: { n } });
  const n = (data: string) => (JSON.parse(data) as { param: { n: number } }).param.n;
  const at = (data: string): Position => {
    const f = JSON.parse(data) as Position;
    return { epoch: f.epoch, offset: f.offset };
  };
  /** What a resume gets (recovery.ts): all of what came after `pos`, or undefined. */
  const since = async (h: MemoryHistory, channel: string, pos: Position) => completeFrames(await h.read(channel, pos));
  const histories: MemoryHistory[] = [];
  const make = (size: number, ttlMs: number) => {
    const h = new MemoryHistory({ size, ttlMs });
    histories.push(h);
    return h;
  };
  after(() => histories.forEach((h) => h.close()));

  it('stamps offsets 1, 2, 3… per channel, each channel record with its own epoch', async () => {
    const h = make(10, 60_000);
    const a = [1, 2, 3].map((i) => h.stamp('a', frame(i)));
    const b = h.stamp('b', frame(9));
    expect(a.map((d) => at(d).offset)).to.deep.equal(['1', '2', '3']);
    expect(new Set(a.map((d) => at(d).epoch)).size).to.equal(1);
    expect(at(b)).to.deep.include({ offset: '1' });
    expect(at(b).epoch).to.not.equal(at(a[0]!).epoch);
    expect(JSON.parse(a[1]!)).to.deep.equal({ offset: '2', epoch: at(a[0]!).epoch, channel: 'c', cmd: 'x', param: { n: 2 } });
  });

  it('answers what came after a position, [] when current, undefined when unknowable', async () => {
    const h = make(10, 60_000);
    const a = [1, 2, 3, 4].map((i) => h.stamp('a', frame(i)));
    const { epoch } = at(a[0]!);
    expect((await since(h, 'a', { epoch, offset: '1' }))!.map(n)).to.deep.equal([2, 3, 4]);
    expect((await since(h, 'a', { epoch, offset: '0' }))!.map(n)).to.deep.equal([1, 2, 3, 4]);
    expect(await since(h, 'a', { epoch, offset: '4' })).to.deep.equal([]);
    expect(await since(h, 'a', { epoch: 'other', offset: '1' }), 'another epoch').to.equal(undefined);
    expect(await since(h, 'nope', { epoch, offset: '1' }), 'no record').to.equal(undefined);
    expect(await since(h, 'a', { epoch, offset: 'x' })).to.equal(undefined);
    expect(await since(h, 'a', { epoch, offset: '-1' })).to.equal(undefined);
  });

  it('keeps the last WS_HISTORY_SIZE frames: a position before them is a gap (undefined)', async () => {
    const h = make(3, 60_000);
    const a = [1, 2, 3, 4, 5].map((i) => h.stamp('a', frame(i)));
    const { epoch } = at(a[0]!);
    expect((await since(h, 'a', { epoch, offset: '2' }))!.map(n), 'oldest kept is 3').to.deep.equal([3, 4, 5]);
    expect(await since(h, 'a', { epoch, offset: '1' }), 'frame 2 was dropped').to.equal(undefined);
  });

  it('drops frames older than WS_HISTORY_TTL_MS, and a record whose frames all expired (a new epoch follows)', async () => {
    const h = make(100, 100);
    const [first, second] = [1, 2].map((i) => h.stamp('a', frame(i)));
    await sleep(150);
    const third = h.stamp('a', frame(3));
    const { epoch } = at(first!);
    expect(at(third).epoch, 'same record while frames are stamped').to.equal(epoch);
    expect(await since(h, 'a', { epoch, offset: '1' }), 'frame 2 expired').to.equal(undefined);
    expect((await since(h, 'a', { epoch, offset: at(second!).offset }))!.map(n)).to.deep.equal([3]);
    // The sweeper (every max(1 s, TTL/2)) removes the record once its last frame has expired.
    await sleep(1200);
    expect(await since(h, 'a', { epoch, offset: '3' })).to.equal(undefined);
    const next = h.stamp('a', frame(4));
    expect(at(next).offset).to.equal('1');
    expect(at(next).epoch).to.not.equal(epoch);
  });

  it('is off with size 0', () => {
    expect(make(0, 1000).enabled).to.equal(false);
  });
});

/** A client's position in a channel: that of the last frame it got there. */
function positionIn(c: TestClient, channel: string): Position {
  const f = c.frames.filter((x) => x.channel === channel && (x as Stamped).offset !== undefined).at(-1) as Frame & Position;
  return { epoch: f.epoch, offset: f.offset };
}
const texts = (frames: Frame[]) => frames.filter((f) => f.cmd === 'chat').map((f) => f.param.text);

describe('resume: recovery after a reconnect, and recovery-failed', function () {
  this.timeout(20_000);
  let redis: RedisServer;
  let a: TestApp;
  let b: TestApp;
  let single: TestApp;
  const size = 5;
  const ttlMs = 600;
  let nextChannel = 0;

  before(async () => {
    redis = await RedisServer.start();
    const socket = { historySize: size, historyTtlMs: ttlMs };
    [a, b] = await Promise.all([startInProcessNode(onRedis(redis), 'c4:', 'ra', socket), startInProcessNode(onRedis(redis), 'c4:', 'rb', socket)]);
    single = await startApp({ socket }); // the in-memory default: LocalBus + MemoryHistory
  });
  after(async () => {
    await closeAll();
    killAll();
  });

  it("lets the admin on one node find, message and kick a connection on another (admin/actions)", async () => {
    const c = await connect(b.url(`/example/socket?ch=remote${++nextChannel}`));
    const id = b.app.sockets!.getConnections().find((x) => x.channel === `remote${nextChannel}`)!.id;
    // Cluster status is gathered within CLUSTER_STATUS_TIMEOUT_MS: on a loaded machine a round may
    // miss rb, and then the lookup says so (node_unavailable) instead of finding it.
    const found = await eventually(() => findConnection(a.app.sockets!, id), 5000);
    expect(found).to.include({ id, node: 'rb' });
    // Each looks the connection up the same way (it throws, sending nothing, when a round misses rb).
    await eventually(() => sendToConnection(a.app.sockets!, id, { channel: '', cmd: 'notice', param: { text: 'from the admin on ra' } }), 5000);
    await c.waitFor({ cmd: 'notice' }, 3000);
    await eventually(() => kickConnection(a.app.sockets!, id, 'bye from ra'), 5000);
    await c.waitFor({ cmd: 'close-connection' }, 3000);
    expect((await within(c.closed, 3000, 'kicked connection closed')).code).to.equal(4000);
    const unknown = await eventually(() => findConnection(a.app.sockets!, 'no-such-connection').then(
      () => expect.fail('found a connection that does not exist'),
      (err: SocketError) => {
        expect(err.code).to.equal('unknown_connection');
        return err;
      },
    ), 5000);
    expect(unknown.message).to.equal('no connection no-such-connection on any node');
  });

  /** A publisher in a fresh channel on `node`, and a helper sending `chat` frames and waiting until they are published. */
  async function channelOn(node: TestApp) {
    const channel = `res${++nextChannel}`;
    const pub = await connect(node.url(`/example/socket?ch=${channel}`));
    await pub.sync();
    const say = async (...words: string[]) => {
      for (const text of words) pub.send({ channel, cmd: 'chat', param: { text } });
      await pub.waitFor((f) => f.cmd === 'chat' && f.param.text === words.at(-1), 3000);
    };
    return { channel, pub, say };
  }

  for (const [name, from, to] of [
    ['on one node (MemoryHistory)', () => single, () => single],
    ['to another node of the cluster (Redis)', () => a, () => b],
  ] as const) {
    it(`replays what a client missed, in order, then live frames: reconnecting ${name}`, async () => {
      const { channel, say } = await channelOn(from());
      const sub = await connect(from().url(`/example/socket?ch=${channel}`));
      await sub.sync();
      await say('m1', 'm2');
      await eventually(() => expect(texts(sub.frames)).to.deep.equal(['m1', 'm2']));
      const p = positionIn(sub, channel);
      sub.terminate();
      await say('m3', 'm4');
      // Route channel: the position rides in the URL.
      const back = await connect(to().url(`/example/socket?ch=${channel}&wsf_since=${p.epoch}:${p.offset}:${channel}`));
      // Another channel: join with {since}.
      const other = await connect(to().url(`/example/socket?ch=elsewhere${nextChannel}`));
      const joined = await other.request(channel, 'join', { since: p });
      expect(joined.param).to.deep.include({ recovered: true });
      await say('m5');
      for (const c of [back, other]) {
        await eventually(() => expect(texts(c.frames)).to.deep.equal(['m3', 'm4', 'm5']));
        // Every channel frame once, in the channel's order, all after the position.
        const offsets = c.frames.filter((f) => f.channel === channel && (f as Stamped).offset !== undefined).map((f) => Number((f as Stamped).offset));
        expect(offsets[0]).to.be.greaterThan(Number(p.offset));
        expect(offsets).to.deep.equal([...new Set(offsets)].sort((x, y) => x - y));
        expect(c.frames.some((f) => f.cmd === 'recovery-failed')).to.equal(false);
      }
      // Presence is volatile: no presence-diff is replayed (none carries a position), and `back`
      // sees `other` arrive live. Every member is told of an arrival, the arriving one too;
      // `presence` lists all three.
      const otherId = to().app.sockets!.getConnections().find((x) => x.channel === `elsewhere${nextChannel}`)!.profile.id;
      const diffs = (c: TestClient) => c.frames.filter((f) => f.channel === channel && f.cmd === 'presence-diff');
      for (const c of [back, other]) expect(diffs(c).every((f) => (f as Stamped).offset === undefined), 'presence is not in history').to.equal(true);
      await eventually(() => expect(diffs(back).flatMap((f) => f.param.joins.map((u: { userId: string }) => u.userId))).to.include(otherId), 3000);
      const present = await other.request(channel, 'presence', {});
      expect(present.param.users.map((u: { id: string }) => u.id)).to.include(otherId);
      expect(present.param.users).to.have.length(3); // the publisher, `back` and `other`
      // The replay came before the join's reply.
      expect(other.frames.findIndex((f) => f.cmd === 'reply')).to.be.greaterThan(other.frames.findIndex((f) => f.param?.text === 'm4'));
    });
  }

  it('sends recovery-failed for an unknown epoch, then live frames', async () => {
    const { channel, say } = await channelOn(a);
    await say('x1');
    const c = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=nosuchepoch:1:${channel}`));
    const failed = await c.waitFor({ cmd: 'recovery-failed' }, 3000);
    expect(failed.channel).to.equal(channel);
    const other = await connect(b.url('/example/socket?ch=lonely'));
    const joined = await other.request(channel, 'join', { since: { epoch: 'nosuchepoch', offset: '1' } });
    expect(joined.param).to.deep.include({ recovered: false });
    await other.waitFor({ cmd: 'recovery-failed', channel }, 3000);
    await say('x2');
    for (const x of [c, other]) await eventually(() => expect(texts(x.frames)).to.include('x2'), 3000);
    // recovery-failed before any replayed or live frame of that channel.
    expect(c.frames.findIndex((f) => f.cmd === 'recovery-failed')).to.be.lessThan(c.frames.findIndex((f) => f.cmd === 'chat'));
  });

  it('sends recovery-failed for a position older than WS_HISTORY_SIZE frames', async () => {
    const { channel, pub, say } = await channelOn(a);
    await say('o1');
    const old = positionIn(pub, channel);
    await say('o2', 'o3', 'o4', 'o5', 'o6', 'o7'); // 7 frames, 5 kept: o3…o7
    const kept = { epoch: old.epoch, offset: String(Number(old.offset) + 1) }; // after o2: o3…o7 all kept
    const fine = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=${kept.epoch}:${kept.offset}:${channel}`));
    await eventually(() => expect(texts(fine.frames)).to.deep.equal(['o3', 'o4', 'o5', 'o6', 'o7']));
    expect(fine.frames.some((f) => f.cmd === 'recovery-failed')).to.equal(false);
    const tooOld = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=${old.epoch}:${old.offset}:${channel}`));
    await tooOld.waitFor({ cmd: 'recovery-failed' }, 3000);
    expect(texts(tooOld.frames)).to.deep.equal([]);
  });

  it('sends recovery-failed for a position older than WS_HISTORY_TTL_MS', async () => {
    const { channel, pub, say } = await channelOn(a);
    await say('t1');
    const before = { ...positionIn(pub, channel), offset: String(Number(positionIn(pub, channel).offset) - 1) };
    const p1 = positionIn(pub, channel);
    await sleep(ttlMs / 2 + 50);
    await say('t2');
    await sleep(ttlMs / 2 + 50); // t1 has expired, t2 not; the channel's keys live on (t2 refreshed them)
    const expired = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=${before.epoch}:${before.offset}:${channel}`));
    await expired.waitFor({ cmd: 'recovery-failed' }, 3000);
    const current = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=${p1.epoch}:${p1.offset}:${channel}`));
    await eventually(() => expect(texts(current.frames)).to.deep.equal(['t2']));
    expect(current.frames.some((f) => f.cmd === 'recovery-failed')).to.equal(false);
    // A quiet channel: its whole history expires, and its epoch with it.
    const p2 = positionIn(pub, channel);
    await sleep(ttlMs + 100);
    const late = await connect(b.url(`/example/socket?ch=${channel}&wsf_since=${p2.epoch}:${p2.offset}:${channel}`));
    await late.waitFor({ cmd: 'recovery-failed' }, 3000);
  });

  it('keeps exactly WS_HISTORY_SIZE frames per channel in Redis; reports the memory a frame costs', async () => {
    const node = await startInProcessNode(onRedis(redis), 'mem:', 'mem', { historySize: 100, historyTtlMs: 60_000 });
    const r = new Redis(redis.url);
    try {
      const k = new Keys('mem:');
      const rows: string[] = [];
      for (const bytes of [100, 1000]) {
        const channel = `mem${bytes}`;
        // The node publishes only while it has a member; the member's own arrival is presence, which stays out of history.
        const member = await connect(node.url(`/example/socket?ch=${channel}`));
        await member.sync();
        const text = 'x'.repeat(bytes);
        for (let i = 0; i < 150; i++) node.app.sockets!.writeChannel({ channel, cmd: 'chat', param: { text } });
        await eventually(async () => expect(Number(await r.hget(k.historyMeta(channel), 'seq'))).to.be.at.least(150), 3000);
        expect(await r.xlen(k.historyStream(channel)), 'exactly the last WS_HISTORY_SIZE').to.equal(100);
        const frame = Buffer.byteLength((await r.xrange(k.historyStream(channel), '-', '+', 'COUNT', 1))[0]![1][3]!);
        const stream = Number(await r.call('MEMORY', 'USAGE', k.historyStream(channel), 'SAMPLES', '0'));
        const meta = Number(await r.call('MEMORY', 'USAGE', k.historyMeta(channel), 'SAMPLES', '0'));
        rows.push(`${bytes} B text (${frame} B stamped frame): stream ${stream} B + meta ${meta} B for 100 frames = ${Math.round(stream / 100)} B a frame (${Math.round(stream / 100 - frame)} B over the frame itself)`);
      }
      console.log(rows.map((x) => `      ${x}`).join('\n'));
    } finally {
      r.disconnect();
    }
  });

  it('hands recovery-failed to the Socket client\'s onMessage and drops its position, so the app can resync', async () => {
    const { channel, say } = await channelOn(a);
    const s = new RecordingSocket(a.url(`/example/socket?ch=${channel}`));
    try {
      await eventually(() => expect(s.opens).to.equal(1));
      await say('s1');
      await eventually(() => expect(s.frames.some((f) => f.cmd === 'chat')).to.equal(true));
      // History lost (as when Redis restarts): the channel's keys are gone.
      const k = new Keys('c4:');
      const r = new Redis(redis.url);
      await r.del(k.historyMeta(channel), k.historyStream(channel));
      r.disconnect();
      // A server-side close that allows reconnecting, of the Socket's connection (the newest in the channel).
      const conn = a.app.sockets!.getConnectionsByChannel(channel).sort((x, y) => x.started - y.started).at(-1)!;
      a.app.sockets!.disconnect(conn.id, 1012, 'restarting');
      await eventually(() => expect(s.frames.some((f) => f.cmd === 'recovery-failed' && f.channel === channel)).to.equal(true), 3000);
      await eventually(() => expect(s.opens).to.equal(2));
      await say('s2');
      await eventually(() => expect(s.frames.filter((f) => f.cmd === 'chat').map((f) => (f.param as { text: string }).text)).to.deep.equal(['s1', 's2']));
    } finally {
      s.close();
    }
  });
});

describe('cluster: feature state in Redis (RedisStore)', function () {
  this.timeout(20_000);
  let redis: RedisServer;
  const connections: Redis[] = [];
  const storeOn = (prefix: string) => {
    const r = withScripts(new Redis(redis.url));
    connections.push(r);
    return new RedisStore(r, new Keys(prefix));
  };

  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    for (const r of connections) r.disconnect();
    await closeAll();
    killAll();
  });

  // The StateStore contract (test/store-contract.ts), as for MemoryStore and DurableStore: two
  // connections on one prefix are the two handles on one state; each test gets its own prefix.
  describe('the StateStore contract', () => storeContract((name) => ({ a: storeOn(`${name}:`), b: storeOn(`${name}:`) })));

  it('keeps deployments apart by prefix', async () => {
    await storeOn('one:').set('room:a', 1);
    expect(await storeOn('other:').get('room:a')).to.equal(undefined);
    expect(await storeOn('other:').keys('room:')).to.deep.equal([]);
  });

  describe('the examples, seen from two nodes', () => {
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      [a, b] = await Promise.all([startInProcessNode(onRedis(redis), 'ex:', 'xa'), startInProcessNode(onRedis(redis), 'ex:', 'xb')]);
    });

    it('chat: a message said on node A is in the history a page on node B gets', async () => {
      const cookie = await guestCookie(a.httpUrl('/examples/chat'));
      const onA = await connect(a.url(chatSocket('shared', 'ann')), { headers: { cookie } });
      await onA.waitFor({ cmd: 'state' }, 3000);
      expect((await onA.request('chat:shared', 'say', { text: 'said on A' })).cmd).to.equal('reply');
      const onB = await connect(b.url(chatSocket('shared', 'ben')));
      const state = await onB.waitFor({ cmd: 'state' }, 3000);
      expect(state.param.history.map((m: { text: string }) => m.text)).to.deep.equal(['said on A']);
      expect(state.param.users.map((u: { name: string }) => u.name).sort()).to.deep.equal(['ann', 'ben']);
      // Rooms created on B are listed on A.
      expect((await onB.request('chat:shared', 'create-room', { room: 'made-on-b' })).param).to.deep.equal({ room: 'made-on-b', created: true });
      const late = await connect(a.url(chatSocket('shared', 'cy')));
      expect((await late.waitFor({ cmd: 'state' }, 3000)).param.rooms.map((r: { name: string }) => r.name)).to.include('made-on-b');
    });

    it('spreadsheet: an edit on node A is in the sheet node B serves, and compare-and-set spans nodes', async () => {
      const onA = await connect(a.url('/examples/spreadsheet/socket?room=shared'));
      const onB = await connect(b.url('/examples/spreadsheet/socket?room=shared'));
      const edit = await onA.request('', 'edit', { ref: 'B2', input: '21', base: 0 });
      expect(edit.cmd, JSON.stringify(edit.param)).to.equal('reply');
      const formula = await onA.request('', 'edit', { ref: 'C2', input: '=B2*2', base: 0 });
      expect(formula.cmd, JSON.stringify(formula.param)).to.equal('reply');
      const hello = (await onB.request('', 'hello')).param;
      const cell = (ref: string) => hello.cells.find((c: { ref: string }) => c.ref === ref);
      expect(cell('B2')).to.include({ input: '21', version: 1 });
      expect(cell('C2')).to.include({ value: 42 });
      // B edits with the version A made: accepted; A's stale edit is then refused.
      expect((await onB.request('', 'edit', { ref: 'B2', input: '50', base: 1 })).cmd).to.equal('reply');
      const stale = await onA.request('', 'edit', { ref: 'B2', input: '7', base: 1 });
      expect(stale.param.code).to.equal('conflict');
      // A sees B's edit live, through the channel.
      await onA.waitFor((f) => f.cmd === 'cells' && f.param.cells.some((c: { ref: string; input: string }) => c.ref === 'B2' && c.input === '50'), 3000);
    });

    it('editor: a Yjs update merged on node A is the document node B syncs', async () => {
      const doc = new Y.Doc();
      doc.getText('code').insert(0, 'print("typed on A")\n');
      const onA = await connect(a.url('/examples/editor/socket?room=shared'));
      const merged = await onA.request('', 'update', { update: toBase64(Y.encodeStateAsUpdate(doc)) });
      expect(merged.cmd, JSON.stringify(merged.param)).to.equal('reply');
      const onB = await connect(b.url('/examples/editor/socket?room=shared'));
      const fresh = new Y.Doc();
      const sync = await onB.request('', 'sync', { sv: toBase64(Y.encodeStateVector(fresh)) });
      expect(sync.cmd, JSON.stringify(sync.param)).to.equal('reply');
      Y.applyUpdate(fresh, fromBase64(sync.param.update));
      expect(fresh.getText('code').toString()).to.equal('print("typed on A")\n');
    });
  });
});

describe('cluster: a publish whose reply was lost, sent again by ioredis', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let proxy: RoundRobinProxy;
  let nodes: NodeProcess[];
  const subscribers: RecordingSocket[] = [];

  before(async () => {
    redis = await RedisServer.start();
    // p1 reaches Redis through the proxy, which can lose a reply; p2 directly.
    proxy = await RoundRobinProxy.start([redis.port]);
    const throughProxy = `redis://127.0.0.1:${proxy.port}`;
    nodes = [
      ...(await startNodes({ env: { REDIS_URL: throughProxy }, connection: { redisUrl: throughProxy } }, 'c6:', ['p1'])),
      ...(await startNodes(onRedis(redis), 'c6:', ['p2'])),
    ];
  });
  after(async () => {
    for (const s of subscribers) s.close();
    await closeAll();
    await proxy?.close();
    killAll();
  });

  it('stamps, stores and delivers it once: every subscriber gets it once, with one offset', async () => {
    const channel = 'once';
    const subs = await subscribedOn([...nodes, ...nodes], channel, subscribers);
    const publisher = await connect(nodes[0]!.url(`/example/socket?ch=${channel}`));
    await publisher.sync();
    // m1 first: Redis then has the publish script, so m2's first send runs it (no NOSCRIPT answer).
    publisher.send({ channel, cmd: 'chat', param: { text: 'm1' } });
    await eventually(() => {
      for (const s of subs) expect(s.numbers(channel)).to.deep.equal([1]);
    }, 5000, 50);
    const admin = new Redis(redis.url);
    const calls = async (...commands: string[]) => {
      const stats = await admin.info('commandstats');
      return commands.reduce((sum, c) => sum + Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0), 0);
    };
    try {
      const [scripts, appends] = [await calls('evalsha', 'eval'), await calls('xadd')];
      const lost = proxy.loseReply((request) => request.includes('"text":"m2"'));
      publisher.send({ channel, cmd: 'chat', param: { text: 'm2' } });
      await within(lost, 5000, "m2's reply lost");
      publisher.send({ channel, cmd: 'chat', param: { text: 'm3' } });
      await eventually(() => {
        for (const s of subs) expect(s.numbers(channel)).to.include(3);
      }, 10_000, 50);
      await sleep(300);
      for (const [i, s] of subs.entries()) {
        expect(s.numbers(channel), `subscriber ${i}`).to.deep.equal([1, 2, 3]);
        const offsets = s.frames.filter((f) => f.cmd === 'chat').map((f) => Number(f.offset));
        expect(offsets, `subscriber ${i}: one offset each, none skipped`).to.deep.equal(range(offsets[0]!, offsets[0]! + 2));
      }
      // ioredis sends a script as EVALSHA, or as EVAL on a connection that may not have it loaded.
      expect((await calls('evalsha', 'eval')) - scripts, 'm2 sent twice (ioredis sent it again), m3 once').to.be.at.least(3);
      expect((await calls('xadd')) - appends, 'm2 and m3 in history once each').to.equal(2);
    } finally {
      admin.disconnect();
    }
  });

  // The script itself on each backend, the Redis Cluster's (which stamps a batch of frames a call) too.
  for (const kind of backends) {
    it(`on ${kind.name}: the same publish script call sent again answers the last offset and stores nothing; another process of the node goes on`, async function () {
      this.timeout(60_000); // a Redis Cluster takes a few seconds to form
      const backend = await kind.start();
      const c = backend.connection;
      const onCluster = 'clusterNodes' in c;
      const keys = onCluster ? new ClusterKeys('c7:') : new Keys('c7:');
      const r = withScripts<Redis | Cluster>('clusterNodes' in c ? new Cluster(c.clusterNodes) : new Redis(c.redisUrl));
      const publish = onCluster ? r.wsfSPublish : r.wsfPublish;
      try {
        const frame = (n: number) => JSON.stringify({ channel: 'ch', cmd: 'x', param: { n } });
        // scripts.ts, stampAndPublish: keys, topic, maxlen, ttl, fresh epoch, now, node, process, call sequence, then head and frame per frame.
        const call = (process: string, seq: number, ...ns: number[]) =>
          publish.call(r, keys.historyMeta('ch'), keys.historyStream('ch'), keys.channelTopic('ch'), 100, 60_000, 'e1', Date.now(), 'n1', process, seq, ...ns.flatMap((n) => ['{}\n', frame(n)]));
        expect(await call('p', 1, 1, 2)).to.equal(2);
        expect(await call('p', 1, 1, 2), 'sent again').to.equal(2);
        expect(await call('p', 2, 3)).to.equal(3);
        expect(await call('p', 1, 1, 2), 'an older call sent again').to.equal(3);
        expect(await call('q', 1, 4), 'the node started again: its calls count afresh').to.equal(4);
        const stored = (await r.xrange(keys.historyStream('ch'), '-', '+')).map(([id, fields]) => `${id} ${JSON.parse(fields[3]!).param.n}`);
        expect(stored).to.deep.equal(['1-0 1', '2-0 2', '3-0 3', '4-0 4']);
      } finally {
        r.disconnect();
        await backend.close();
      }
    });
  }
});
