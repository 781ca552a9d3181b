/**
 * The engine contract: one suite, run against every engine (test/cluster/engines.ts), holding each
 * to what broker.ts, presence.ts and registry.ts in server/socket/ promise. Nodes are EngineBus
 * compositions with a recording Delivery in place of the hub: the seams, without the service.
 * The Redis engine runs on a redis-server started here on a free port, the Redis Cluster engine
 * on 3 masters and 3 replicas started here (test/cluster/redis-cluster.ts).
 */
import { expect } from 'chai';
import { clusterReapBatchDefault } from '../server/config';
import { completeFrames, type History, type Position } from '../server/socket/history';
import { eventually, sleep } from './helpers';
import { killAll } from './cluster/processes';
import { memoryHarness, redisClusterHarness, redisHarness, type ClusterSettings, type EngineHarness, type TestCluster, type TestNode } from './cluster/engines';

const defaults: ClusterSettings = { historySize: 100, historyTtlMs: 60_000, heartbeatMs: 100, nodeTtlMs: 600 };
const frame = (n: number | string, channel = 'ch') => JSON.stringify({ channel, cmd: 'x', param: { n } });
const ns = (node: TestNode, channel = 'ch') => node.delivery.channelFrames(channel).filter((f) => f.cmd === 'x').map((f) => f.param.n as number);
const positions = (node: TestNode, channel = 'ch') => node.delivery.channelFrames(channel).filter((f) => f.cmd === 'x').map((f) => `${f.epoch}:${f.offset}`);
const recoveryFailed = (node: TestNode, channel = 'ch') => node.delivery.channelFrames(channel).filter((f) => f.cmd === 'recovery-failed').length;
const parsed = (frames: string[] | undefined) => frames?.map((d) => JSON.parse(d) as { offset: string; epoch: string; param: { n: number } });
const offsets = (frames: string[] | undefined) => parsed(frames)?.map((f) => Number(f.offset));
const alice = { id: 'alice', name: 'Alice' };
const bob = { id: 'bob', name: 'Bob' };
const carol = { id: 'carol', name: 'Carol' };
/** What a client's resume gets (recovery.ts): all of what came after `pos`, or undefined. */
const since = async (h: History, channel: string, pos: Position) => completeFrames(await h.read(channel, pos));

const harnesses: Array<[name: string, make: () => EngineHarness | Promise<EngineHarness>]> = [
  ['memory', memoryHarness],
  ['single Redis', redisHarness],
  ['Redis Cluster', redisClusterHarness],
];

for (const [name, make] of harnesses) {
  describe(`engine contract: ${name}`, function () {
    this.timeout(20_000);
    let harness: EngineHarness;
    let cluster: TestCluster | undefined;

    before(async () => {
      harness = await make();
    });
    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });
    after(async () => {
      await harness?.close();
      killAll();
    });

    async function start(ids: string[], settings: Partial<ClusterSettings> = {}): Promise<TestNode[]> {
      cluster = await harness.cluster(ids, { ...defaults, ...settings });
      return cluster.nodes;
    }

    describe('Broker', () => {
      it('hands a channel frame to every subscribed node, the publisher included, once, with one position', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        await a!.bus.subscribe({ type: 'channel', channel: 'ch' });
        await b!.bus.subscribe({ type: 'channel', channel: 'ch' });
        c!.bus.publish({ type: 'channel', channel: 'ch' }, frame(1), []);
        await eventually(() => expect([ns(a!), ns(b!)]).to.deep.equal([[1], [1]]));
        await sleep(50);
        expect([ns(a!), ns(b!)], 'once').to.deep.equal([[1], [1]]);
        expect(positions(b!)).to.deep.equal(positions(a!));
        const [f] = a!.delivery.channelFrames('ch');
        expect(f).to.include({ offset: '1', cmd: 'x' });
        expect(f!.epoch).to.match(/^\w{1,32}$/);
      });

      it('gives every node one order, whoever publishes: offsets 1, 2, 3… in that order', async () => {
        const [a, b] = await start(['a', 'b']);
        for (const n of [a!, b!]) await n.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (let i = 1; i <= 40; i++) (i % 2 ? a! : b!).bus.publish({ type: 'channel', channel: 'ch' }, frame(i), []);
        await eventually(() => expect(ns(a!)).to.have.length(40));
        await eventually(() => expect(ns(b!)).to.have.length(40));
        expect(positions(b!)).to.deep.equal(positions(a!));
        expect(a!.delivery.channelFrames('ch').map((f) => Number(f.offset))).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
        // One connection's frames keep their order (each node published its own in order).
        for (const parity of [0, 1]) expect(ns(a!).filter((n) => n % 2 === parity)).to.deep.equal([...ns(a!).filter((n) => n % 2 === parity)].sort((x, y) => x - y));
      });

      it('hands user, connection and broadcast frames to the nodes holding them, with the except list', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        await a!.bus.subscribe({ type: 'user', userId: 'u1' });
        await b!.bus.subscribe({ type: 'conn', connId: 'k1' });
        c!.bus.publish({ type: 'user', userId: 'u1' }, frame('to-user'), ['k9', 'k8']);
        c!.bus.publish({ type: 'conn', connId: 'k1' }, frame('to-conn'), []);
        c!.bus.publish({ type: 'all' }, frame('to-all'), ['k1']);
        const got = (n: TestNode, type: string) => n.delivery.delivered.filter((d) => d.target.type === type);
        await eventually(() => expect(got(a!, 'user')).to.have.length(1));
        expect(got(a!, 'user')[0]).to.deep.include({ target: { type: 'user', userId: 'u1' }, data: frame('to-user'), except: ['k9', 'k8'] });
        await eventually(() => expect(got(b!, 'conn').map((d) => d.data)).to.deep.equal([frame('to-conn')]));
        for (const n of [a!, b!, c!]) {
          await eventually(() => expect(got(n, 'all')).to.have.length(1));
          expect(got(n, 'all')[0]).to.deep.include({ data: frame('to-all'), except: ['k1'] });
        }
      });

      it('closes a connection or a user\'s tabs on the node that holds them', async () => {
        const [a, , c] = await start(['a', 'b', 'c']);
        await a!.bus.subscribe({ type: 'user', userId: 'u1' });
        await a!.bus.subscribe({ type: 'conn', connId: 'k1' });
        c!.bus.disconnect({ type: 'user', userId: 'u1' }, 4000, 'kicked');
        c!.bus.disconnect({ type: 'conn', connId: 'k1' }, 4001, 'replaced');
        await eventually(() => expect(a!.delivery.disconnected).to.have.length(2));
        expect(a!.delivery.disconnected).to.deep.include({ target: { type: 'user', userId: 'u1' }, code: 4000, reason: 'kicked' });
        expect(a!.delivery.disconnected).to.deep.include({ target: { type: 'conn', connId: 'k1' }, code: 4001, reason: 'replaced' });
      });

      it('leaves volatile frames, and every frame when history is off, without a position and out of history', async () => {
        const [a] = await start(['a']);
        await a!.bus.subscribe({ type: 'channel', channel: 'ch' });
        a!.bus.publish({ type: 'channel', channel: 'ch' }, frame('presence'), [], true);
        await eventually(() => expect(a!.delivery.delivered).to.have.length(1));
        expect(a!.delivery.delivered[0]!.data).to.equal(frame('presence'));
        expect(await a!.engine.broker.head('ch')).to.equal(undefined);
        await cluster!.close();
        const [off] = await start(['off'], { historySize: 0 });
        await off!.bus.subscribe({ type: 'channel', channel: 'ch' });
        off!.bus.publish({ type: 'channel', channel: 'ch' }, frame(1), []);
        await eventually(() => expect(off!.delivery.delivered.map((d) => d.data)).to.deep.equal([frame(1)]));
        expect(await off!.engine.broker.head('ch')).to.equal(undefined);
      });

      it('answers head, read and since: what came after a position, all of it or what is kept', async () => {
        const [a] = await start(['a']);
        await a!.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (const n of [1, 2, 3]) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(a!)).to.have.length(3));
        const broker = a!.engine.broker;
        const head = (await broker.head('ch'))!;
        expect(head.offset).to.equal('3');
        const at = (offset: string): Position => ({ epoch: head.epoch, offset });
        expect(parsed(await since(broker, 'ch', at('1')))!.map((f) => f.param.n)).to.deep.equal([2, 3]);
        expect(parsed(await since(broker, 'ch', at('0')))!.map((f) => f.param.n)).to.deep.equal([1, 2, 3]);
        expect(await since(broker, 'ch', at('3'))).to.deep.equal([]);
        expect(await since(broker, 'ch', { epoch: 'other', offset: '1' }), 'another epoch').to.equal(undefined);
        expect(await since(broker, 'nothing', at('1')), 'no history').to.equal(undefined);
        const fromStart = await broker.read('ch');
        expect(fromStart).to.deep.include({ head, complete: true });
        expect(offsets(fromStart.frames)).to.deep.equal([1, 2, 3]);
        const other = await broker.read('ch', { epoch: 'other', offset: '2' });
        expect(other, 'another epoch: what is kept, never complete').to.deep.include({ head, complete: false });
        expect(offsets(other.frames)).to.deep.equal([1, 2, 3]);
        expect(await broker.read('nothing')).to.deep.equal({ frames: [], complete: true });
        expect(await broker.read('nothing', at('2'))).to.deep.equal({ frames: [], complete: false });
        // Stamped frames are what history replays, byte for byte.
        expect(await since(broker, 'ch', at('0'))).to.deep.equal(a!.delivery.delivered.map((d) => d.data));
      });

      it('keeps the last WS_HISTORY_SIZE frames: read returns them, incomplete, since nothing', async () => {
        const [a] = await start(['a'], { historySize: 5 });
        await a!.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (let n = 1; n <= 8; n++) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(a!)).to.have.length(8));
        const broker = a!.engine.broker;
        const { epoch } = (await broker.head('ch'))!;
        const after1 = await broker.read('ch', { epoch, offset: '1' });
        expect(after1.complete).to.equal(false);
        expect(offsets(after1.frames)).to.deep.equal([4, 5, 6, 7, 8]);
        expect(await since(broker, 'ch', { epoch, offset: '1' })).to.equal(undefined);
        expect(offsets(await since(broker, 'ch', { epoch, offset: '3' }))).to.deep.equal([4, 5, 6, 7, 8]);
        expect((await broker.read('ch')).complete, 'the epoch\'s start is trimmed').to.equal(false);
      });

      it('replays no frame older than WS_HISTORY_TTL_MS', async () => {
        const ttl = 400;
        const [a] = await start(['a'], { historyTtlMs: ttl });
        await a!.bus.subscribe({ type: 'channel', channel: 'ch' });
        a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(1), []);
        await sleep(ttl / 2 + 50);
        a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(2), []);
        await sleep(ttl / 2 + 50); // 1 has expired, 2 not
        const broker = a!.engine.broker;
        const { epoch } = (await broker.head('ch'))!;
        expect(await since(broker, 'ch', { epoch, offset: '0' })).to.equal(undefined);
        expect(parsed(await since(broker, 'ch', { epoch, offset: '1' }))!.map((f) => f.param.n)).to.deep.equal([2]);
        const read = await broker.read('ch', { epoch, offset: '0' });
        expect(read.complete).to.equal(false);
        expect(offsets(read.frames)).to.deep.equal([2]);
      });

      it('hands on every frame once and in order across a lost subscriber connection, without recovery-failed', async () => {
        const [a, b] = await start(['a', 'b']);
        await b!.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (let n = 1; n <= 30; n++) {
          a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
          await sleep(1);
        }
        await eventually(() => expect(ns(b!)).to.have.length(30));
        await cluster!.cut(b!);
        // Published while b's subscriber connection is down, and nothing after them: only reading
        // history once the connection is back can hand them on.
        for (let n = 31; n <= 60; n++) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(b!)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1)), 5000);
        expect(recoveryFailed(b!)).to.equal(0);
      });

      it('hands on what history still holds when more went by than it keeps, after one recovery-failed for what is gone', async () => {
        const [a, b] = await start(['a', 'b'], { historySize: 10 });
        await b!.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (let n = 1; n <= 5; n++) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(b!)).to.have.length(5));
        await cluster!.cut(b!);
        // 35 frames while b is cut off; history keeps the last 10 (31…40).
        for (let n = 6; n <= 40; n++) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(b!).at(-1)).to.equal(40), 5000);
        await sleep(100);
        const got = ns(b!);
        expect(got, 'in order, once').to.deep.equal([...new Set(got)].sort((x, y) => x - y));
        expect(got, 'every frame history holds').to.include.members(Array.from({ length: 10 }, (_, i) => 31 + i));
        const missing = Array.from({ length: 40 }, (_, i) => i + 1).filter((n) => !got.includes(n));
        expect(missing.every((n) => n > 5 && n < 31), `only trimmed frames are missing: ${missing.join(',')}`).to.equal(true);
        expect(recoveryFailed(b!)).to.equal(missing.length ? 1 : 0);
        if (missing.length) {
          const cmds = b!.delivery.channelFrames('ch').map((f) => (f.cmd === 'x' ? f.param.n : f.cmd));
          expect(cmds.indexOf('recovery-failed'), 'told before the frames after the gap').to.equal(cmds.indexOf(missing.at(-1)! + 1) - 1);
        }
      });

      it('misses nothing published while a subscription takes effect: every frame after the head it subscribed at', async () => {
        const [a, b] = await start(['a', 'b']);
        const published: number[] = [];
        const publish = (from: number, to: number) => {
          for (let n = from; n <= to; n++) {
            a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
            published.push(n);
          }
        };
        publish(1, 5);
        await eventually(async () => expect((await a!.engine.broker.head('ch'))?.offset).to.equal('5'));
        // Frames 6…25 are published after b has read the channel's head and before its
        // subscription takes effect: pub/sub will not bring them, history must. (An engine that
        // reads no head, as memory, where subscribing takes no time, has no such window.)
        const broker = b!.engine.broker;
        const head = broker.head.bind(broker);
        broker.head = async (channel) => {
          const at = await head(channel);
          publish(6, 25);
          await eventually(async () => expect((await head(channel))?.offset).to.equal('25'));
          return at;
        };
        await b!.bus.subscribe({ type: 'channel', channel: 'ch' });
        publish(26, 30);
        await eventually(() => expect(ns(b!).at(-1)).to.equal(30), 5000);
        await sleep(50);
        expect(ns(b!).filter((n) => n > 5)).to.deep.equal(published.filter((n) => n > 5));
        expect(recoveryFailed(b!)).to.equal(0);
      });

      it('goes on in a new epoch when the backend lost its data, telling each node\'s members at most once', async () => {
        const [a, b] = await start(['a', 'b']);
        await b!.bus.subscribe({ type: 'channel', channel: 'ch' });
        for (const n of [1, 2, 3]) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(b!)).to.have.length(3));
        const before = (await a!.engine.broker.head('ch'))!;
        await cluster!.flush();
        for (const n of [4, 5, 6]) a!.bus.publish({ type: 'channel', channel: 'ch' }, frame(n), []);
        await eventually(() => expect(ns(b!)).to.deep.equal([1, 2, 3, 4, 5, 6]));
        const after = b!.delivery.channelFrames('ch').filter((f) => f.cmd === 'x').slice(3);
        expect(after.map((f) => f.offset)).to.deep.equal(['1', '2', '3']);
        expect(after[0]!.epoch).to.not.equal(before.epoch);
        expect(recoveryFailed(b!)).to.be.at.most(1);
      });
    });

    describe('Presence', () => {
      it('counts a user once however many tabs and nodes: a join on the first anywhere, a leave on the last', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        const [pa, pb, pc] = [a!, b!, c!].map((n) => n.engine.presence);
        expect(await pa!.join('room', alice)).to.equal(true);
        expect(await pa!.join('room', alice), 'second tab').to.equal(false);
        expect(await pb!.join('room', alice), 'another node').to.equal(false);
        expect(await pb!.join('room', bob)).to.equal(true);
        for (const p of [pa!, pb!, pc!]) {
          expect((await p.users('room')).sort((x, y) => x.id.localeCompare(y.id))).to.deep.equal([alice, bob]);
          expect(await p.count('room')).to.equal(2);
        }
        expect(await pa!.leave('room', alice)).to.equal(false);
        expect(await pa!.leave('room', alice), 'still on b').to.equal(false);
        expect(await pb!.leave('room', alice), 'last tab anywhere').to.equal(true);
        expect(await pc!.users('room')).to.deep.equal([bob]);
        expect(await pc!.leave('room', carol), 'never there').to.equal(false);
        expect(await pc!.count('nowhere')).to.equal(0);
      });
    });

    describe('NodeRegistry', () => {
      it('lists the live nodes; a node that closes leaves the list at once', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        expect((await a!.engine.registry.live()).sort()).to.deep.equal(['a', 'b', 'c']);
        await c!.bus.close();
        expect((await b!.engine.registry.live()).sort()).to.deep.equal(['a', 'b']);
      });

      it('gathers every other node\'s status', async () => {
        const [a] = await start(['a', 'b', 'c']);
        const remote = await a!.engine.registry.remoteStatus(2000);
        expect(remote.statuses.map((s) => s.node).sort()).to.deep.equal(['b', 'c']);
        expect(remote.missing).to.deep.equal([]);
        const [alone] = await start(['alone']);
        expect(await alone!.engine.registry.remoteStatus(2000)).to.deep.equal({ statuses: [], missing: [] });
      });

      it('names a crashed node missing, then after the TTL reaps it once: its users leave where nobody else has them', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        await a!.engine.presence.join('room', alice);
        await c!.engine.presence.join('room', alice);
        await c!.engine.presence.join('room', bob);
        await c!.engine.presence.join('other', carol);
        await cluster!.crash(c!);
        const crashedAt = Date.now();
        const early = await a!.engine.registry.remoteStatus(200);
        if (Date.now() - crashedAt < defaults.nodeTtlMs) {
          expect(early.statuses.map((s) => s.node)).to.deep.equal(['b']);
          expect(early.missing).to.deep.equal(['c']);
        }
        const gone = () => [...a!.delivery.gone, ...b!.delivery.gone].map((g) => `${g.channel}:${g.user.id}:${g.user.name}`).sort();
        await eventually(() => expect(gone()).to.deep.equal(['other:carol:Carol', 'room:bob:Bob']), 5000, 50);
        expect(Date.now() - crashedAt, 'not before the TTL').to.be.at.least(defaults.nodeTtlMs - defaults.heartbeatMs);
        await sleep(4 * defaults.heartbeatMs);
        expect(gone(), 'reaped once').to.have.length(2);
        expect((await a!.engine.registry.live()).sort()).to.deep.equal(['a', 'b']);
        expect(await b!.engine.presence.users('room')).to.deep.equal([alice]);
        expect(await b!.engine.presence.users('other')).to.deep.equal([]);
        expect(await a!.engine.registry.remoteStatus(2000)).to.deep.include({ missing: [] });
      });

      it('reaps a node of more users than one reap call takes: each gone user to one reaper, with three reaping at once', async () => {
        const [a, b, d] = await start(['a', 'b', 'd']);
        const users = Array.from({ length: 2 * clusterReapBatchDefault + 100 }, (_, i) => ({ channel: `room${i % 30}`, user: { id: `u${i}`, name: `User ${i}` } }));
        await Promise.all(users.map(({ channel, user }) => d!.engine.presence.join(channel, user)));
        // Every tenth user has a tab on a too: not gone.
        const stay = users.filter((_, i) => i % 10 === 0);
        await Promise.all(stay.map(({ channel, user }) => a!.engine.presence.join(channel, user)));
        await cluster!.crash(d!);
        const key = (g: { channel: string; user: { id: string; name: string } }) => `${g.channel}:${g.user.id}:${g.user.name}`;
        const expected = users.filter((_, i) => i % 10 !== 0).map(key).sort();
        // a and b reap d in a loop of their own from the start (nothing to take while d is not dead
        // yet), so they are at it together once it is, with a's or b's registry too (by claim).
        const direct: Array<{ channel: string; user: { id: string; name: string } }> = [];
        const gone = () => [...direct, ...a!.delivery.gone, ...b!.delivery.gone].map(key).sort();
        const until = Date.now() + 5000;
        await Promise.all([a!, b!].map(async (n) => {
          while (gone().length < expected.length && Date.now() < until) direct.push(...(await n.engine.presence.reap('d')));
        }));
        await sleep(4 * defaults.heartbeatMs);
        expect(gone(), 'every gone user once').to.deep.equal(expected);
        await eventually(async () => expect((await b!.engine.registry.live()).sort()).to.deep.equal(['a', 'b']), 2000, 50);
        const room0 = stay.filter((s) => s.channel === 'room0').map((s) => s.user.id).sort();
        expect((await b!.engine.presence.users('room0')).map((u) => u.id).sort()).to.deep.equal(room0);
      });

      it('writes each node\'s presence back when the backend lost it, without a leave or a join', async () => {
        const [a, b] = await start(['a', 'b']);
        await a!.engine.presence.join('room', alice);
        await a!.engine.presence.join('room', alice);
        await b!.engine.presence.join('room', bob);
        await cluster!.flush();
        await eventually(async () => {
          expect((await a!.engine.presence.users('room')).map((u) => u.id).sort()).to.deep.equal(['alice', 'bob']);
          expect((await a!.engine.registry.live()).sort()).to.deep.equal(['a', 'b']);
        }, 5000, 50);
        expect([...a!.delivery.gone, ...b!.delivery.gone]).to.deep.equal([]);
        // The counts are right, not just present: alice's two tabs on a.
        expect(await a!.engine.presence.leave('room', alice)).to.equal(false);
        expect(await a!.engine.presence.leave('room', alice)).to.equal(true);
        expect(await b!.engine.presence.users('room')).to.deep.equal([bob]);
      });
    });

    describe('RetryLedger', () => {
      it('gives a key to one claimer among nodes; the others see pending, then the recorded outcome, an error too', async () => {
        const [a, b, c] = await start(['a', 'b', 'c']);
        const key = `alice:m-${Date.now()}`;
        const claims = await Promise.all([a!, b!, c!].map((n) => n.engine.retries.claim(key, 5000)));
        expect(claims.filter((x) => x === undefined), 'exactly one claim is granted').to.have.length(1);
        expect(claims.filter((x) => x === 'pending')).to.have.length(2);
        await a!.engine.retries.record(key, { ok: true, value: { n: 1 } }, 5000);
        expect(await b!.engine.retries.claim(key, 5000)).to.deep.equal({ ok: true, value: { n: 1 } });
        const failed = `alice:f-${Date.now()}`;
        expect(await b!.engine.retries.claim(failed, 5000)).to.equal(undefined);
        await b!.engine.retries.record(failed, { ok: false, code: 'nope', message: 'refused' }, 5000);
        expect(await c!.engine.retries.claim(failed, 5000)).to.deep.equal({ ok: false, code: 'nope', message: 'refused' });
      });

      it('frees a claim never recorded after its TTL (its node died), and forgets an outcome after its TTL', async () => {
        const [a, b] = await start(['a', 'b']);
        const key = `bob:m-${Date.now()}`;
        expect(await a!.engine.retries.claim(key, 200)).to.equal(undefined);
        expect(await b!.engine.retries.claim(key, 200)).to.equal('pending');
        await sleep(300);
        expect(await b!.engine.retries.claim(key, 200), 'claimed again').to.equal(undefined);
        await b!.engine.retries.record(key, { ok: true, value: null }, 200);
        expect(await a!.engine.retries.claim(key, 200)).to.deep.equal({ ok: true, value: null });
        await sleep(300);
        expect(await a!.engine.retries.claim(key, 200), 'forgotten').to.equal(undefined);
      });
    });
  });
}
