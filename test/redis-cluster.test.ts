/**
 * wsforge on a real Redis Cluster: 3 masters and 3 replicas started here (redis-server in cluster
 * mode, `redis-cli --cluster create`), REDIS_CLUSTER_NODES, the feature state store, and, under a
 * steady stream, a slot moved to another master and a master killed (kill -9) while its replica
 * takes over: the measured figures of docs/cluster.md ("Redis Cluster"). The engine contract runs
 * against this engine in test/engine-contract.test.ts, and the scenarios with three node processes
 * (delivery, presence, status, resume after kill -9 of a node, a master failover) in test/cluster.test.ts.
 */
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import { ClusterKeys } from '../server/cluster/cluster-keys';
import { connectRedisCluster } from '../server/cluster/redis-cluster';
import { RedisStore } from '../server/cluster/redis-store';
import { ConfigError, loadConfig } from '../server/config';
import { eventually, sleep } from './helpers';
import { redisClusterHarness, type TestNode } from './cluster/engines';
import { killAll } from './cluster/processes';
import { RedisClusterServers } from './cluster/redis-cluster';
import { storeContract } from './store-contract';

const silent = pino({ level: 'silent' });

describe('Redis Cluster', function () {
  this.timeout(60_000);
  let servers: RedisClusterServers;
  const clients: Cluster[] = [];

  before(async () => {
    servers = await RedisClusterServers.start();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await servers?.close();
    killAll();
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('reads host:port lists, and refuses one set with REDIS_URL', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-2:7001,[::1]:7002' }).cluster).to.deep.include({ clusterNodes: ['10.0.0.1:7000', 'redis-2:7001', '[::1]:7002'], prefix: 'wsf:' });
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1' })).to.throw(ConfigError, /REDIS_CLUSTER_NODES="10.0.0.1": expected host:port,host:port/);
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', REDIS_URL: 'redis://10.0.0.1:6379' })).to.throw(ConfigError, /REDIS_URL and REDIS_CLUSTER_NODES are both set/);
    });
  });

  // The StateStore contract (test/store-contract.ts): two cluster clients on one prefix are the two
  // handles on one state; `keys` must find keys on every master.
  describe('the StateStore contract', () =>
    storeContract((name) => {
      const keys = new ClusterKeys(`${name}:`);
      const store = () => {
        const c = connectRedisCluster(servers.nodes.split(','), 'store', 'pub', silent);
        clients.push(c);
        return new RedisStore(c, keys, () => c.nodes('master'));
      };
      return { a: store(), b: store() };
    }));

  /**
   * A publishing and a subscribed node in channel `ch`, 100 frames a second from one to the other
   * while `during` happens to the Redis Cluster (1 s after the start; publishing goes on until 1.5 s
   * after it is over). Checks what must always hold: delivery resumes by itself (the last frame
   * arrives), each epoch's frames in order, no position given to two frames, a new epoch after.
   */
  async function streamThrough(during: (slot: number) => Promise<string>): Promise<{ lost: number[]; recoveryFailed: number; windowMs: number }> {
    const harness = await redisClusterHarness(servers);
    // A node TTL past a failover: nobody is reaped while the registry's shard may be down.
    const cluster = await harness.cluster(['pub', 'sub'], { historySize: 100, historyTtlMs: 60_000, heartbeatMs: 200, nodeTtlMs: 10_000 });
    const [pub, sub] = cluster.nodes as [TestNode, TestNode];
    try {
      const slot = Number(await servers.call(servers.alive()[0]!, 'CLUSTER', 'KEYSLOT', new ClusterKeys('').channelTopic('ch')));
      await sub.bus.subscribe({ type: 'channel', channel: 'ch' });
      const rate = 100;
      const sentAt: number[] = [];
      const publishing = setInterval(() => {
        const n = sentAt.length;
        sentAt.push(Date.now());
        pub.bus.publish({ type: 'channel', channel: 'ch' }, JSON.stringify({ channel: 'ch', cmd: 'x', param: { n } }), []);
      }, 1000 / rate);
      await sleep(1000);
      const startedAt = Date.now();
      const what = await during(slot);
      const windowMs = Date.now() - startedAt;
      await sleep(1500);
      clearInterval(publishing);
      const total = sentAt.length;

      const frames = () => sub.delivery.delivered.map((d) => ({ ...(JSON.parse(d.data) as { cmd: string; epoch?: string; offset?: string; param: { n: number } }), at: d.at }));
      await eventually(() => expect(frames().filter((f) => f.cmd === 'x').at(-1)?.param.n, 'delivery resumes by itself').to.equal(total - 1), 15_000, 50);
      await sleep(200);
      const all = frames();
      const xs = all.filter((f) => f.cmd === 'x');
      const got = new Set(xs.map((f) => f.param.n));
      const lost = sentAt.map((_, n) => n).filter((n) => !got.has(n));
      const byPosition = new Map<string, number>();
      for (const f of xs) {
        const at = `${f.epoch}:${f.offset}`;
        expect(byPosition.get(at) ?? f.param.n, `position ${at} given to two frames`).to.equal(f.param.n);
        byPosition.set(at, f.param.n);
      }
      expect(xs.at(-1)!.epoch, 'a new epoch after').to.not.equal(xs.find((f) => f.param.n === 0)!.epoch);
      for (const epoch of new Set(xs.map((f) => f.epoch))) {
        const ns = xs.filter((f) => f.epoch === epoch).map((f) => f.param.n);
        expect(ns, `epoch ${epoch} in order`).to.deep.equal([...ns].sort((a, b) => a - b));
      }
      const recoveryFailed = all.filter((f) => f.cmd === 'recovery-failed').length;
      // The longest wait between two frames at the subscriber: the delivery stall it caused.
      let stall = 0;
      for (let i = 1; i < xs.length; i++) stall = Math.max(stall, xs[i]!.at - xs[i - 1]!.at);
      console.log(
        `      ${what} at ${rate} frames/s, ${windowMs} ms: ${total} published, ${lost.length} lost, ${xs.length - got.size} duplicated, ` +
          `${recoveryFailed} recovery-failed, longest stall ${stall} ms`,
      );
      return { lost, recoveryFailed, windowMs };
    } finally {
      await cluster.close();
      await harness.close();
    }
  }

  // Last (after the suites above): they change the cluster's topology, the failover for good.
  describe('topology changes under a steady stream', () => {
    it('goes on through a slot moved to another master (ASK, then MOVED): no frame lost, a new epoch', async () => {
      const { lost, recoveryFailed } = await streamThrough(async (slot) => {
        const from = await servers.masterOf(slot);
        const to = (await servers.masters()).find((p) => p !== from)!;
        await servers.moveSlot(slot, to);
        return `slot ${slot} moved from :${from} to :${to}`;
      });
      expect(lost, 'lost').to.deep.equal([]);
      expect(recoveryFailed, 'one recovery-failed: the new master starts a new epoch').to.equal(1);
    });

    it('survives a master failover: delivery resumes by itself, in a new epoch, no offset given twice', async () => {
      const { lost, recoveryFailed, windowMs } = await streamThrough(async (slot) => {
        const master = await servers.masterOf(slot);
        await servers.kill(master);
        for (;;) {
          const promoted = await servers.masterOf(slot).catch(() => master);
          if (promoted !== master) return `master :${master} killed, replica :${promoted} promoted`;
          await sleep(50);
        }
      });
      // What a failover may lose (docs/cluster.md, "Redis Cluster"): frames the dead master had
      // published that were in flight, and, of those published meanwhile (they wait in the client
      // and the new master stamps them), what history trimmed before the subscriber was back.
      // Bounded by what was published until the promotion.
      expect(lost.length, `lost: ${lost.join(',')}`).to.be.at.most(Math.ceil((windowMs / 1000) * 100));
      expect(recoveryFailed, 'the members are told of a possible loss, once').to.equal(1);
    });
  });
});
