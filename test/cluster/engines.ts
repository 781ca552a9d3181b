/**
 * The engines the contract suite (test/engine-contract.test.ts) runs against, each behind one
 * harness: a cluster of nodes on one backend, and the faults a backend can have (a node's process
 * dies, a subscriber connection drops, the backend loses its data). A new engine adds a harness
 * here and runs the same suite.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { connectRedis, createRedisEngine } from '../../server/cluster/cluster';
import { ClusterKeys } from '../../server/cluster/cluster-keys';
import { Keys } from '../../server/cluster/keys';
import { connectRedisCluster, createRedisClusterEngine } from '../../server/cluster/redis-cluster';
import { createMemoryEngine, MemoryBackend } from '../../server/engine/memory';
import { EngineBus, type Delivery, type Engine } from '../../server/socket/bus';
import type { DisconnectTarget, Target } from '../../server/socket/broker';
import type { Profile } from '../../server/socket/profile';
import type { Status } from '../../server/socket/status';
import { RedisServer } from './processes';
import { RedisClusterServers } from './redis-cluster';

export interface ClusterSettings {
  historySize: number;
  historyTtlMs: number;
  heartbeatMs: number;
  nodeTtlMs: number;
}

/** A Delivery that records what its node is handed. */
export class RecordingDelivery implements Delivery {
  /** What it was handed, and when (ms since epoch). */
  readonly delivered: Array<{ target: Target; data: string; except: readonly string[]; at: number }> = [];
  readonly disconnected: Array<{ target: DisconnectTarget; code: number; reason: string }> = [];
  readonly gone: Array<{ channel: string; user: Profile }> = [];

  constructor(readonly node: string) {}

  deliver(target: Target, data: string, except: readonly string[]): void {
    this.delivered.push({ target, data, except, at: Date.now() });
  }

  disconnectLocal(target: DisconnectTarget, code: number, reason: string): number {
    this.disconnected.push({ target, code, reason });
    return 0; // holds no connection: a disconnect always goes through the engine
  }

  status(): Status {
    const counts = { connections: 0, channels: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, errors: 0 };
    return { node: this.node, startedAt: 0, uptimeMs: 0, counts, channels: [], connections: [] };
  }

  userGone(channel: string, user: Profile): void {
    this.gone.push({ channel, user });
  }

  /** The frames handed over for a channel, as parsed JSON. */
  channelFrames(channel: string): Array<{ offset?: string; epoch?: string; cmd: string; param: any }> {
    return this.delivered.filter((d) => d.target.type === 'channel' && d.target.channel === channel).map((d) => JSON.parse(d.data));
  }
}

export interface TestNode {
  id: string;
  engine: Engine;
  bus: EngineBus;
  delivery: RecordingDelivery;
}

export interface TestCluster {
  nodes: TestNode[];
  /** The node's process dies: no goodbye, its heartbeat and presence stay behind. */
  crash(node: TestNode): Promise<void>;
  /** The node's subscriber connection drops and comes back (nothing to drop in memory). */
  cut(node: TestNode): Promise<void>;
  /** The backend loses all its data, connections staying up (Redis FLUSHALL; a restart without persistence). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface EngineHarness {
  name: string;
  /** A cluster of nodes with these ids on a backend of its own (a fresh namespace). */
  cluster(ids: string[], settings: ClusterSettings): Promise<TestCluster>;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

async function startNodes(ids: string[], engineOf: (id: string) => Engine): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) {
    const engine = engineOf(id);
    const bus = new EngineBus(engine);
    const delivery = new RecordingDelivery(id);
    await bus.start(delivery);
    nodes.push({ id, engine, bus, delivery });
  }
  return nodes;
}

/** The memory engine: several nodes on one MemoryBackend in this process. */
export function memoryHarness(): EngineHarness {
  return {
    name: 'memory',
    async cluster(ids, s) {
      const backend = new MemoryBackend({ size: s.historySize, ttlMs: s.historyTtlMs }, s.nodeTtlMs);
      const nodes = await startNodes(ids, (node) => createMemoryEngine({ node, backend, heartbeatMs: s.heartbeatMs, nodeTtlMs: s.nodeTtlMs }));
      const crashed = new Set<TestNode>();
      return {
        nodes,
        async crash(node) {
          crashed.add(node);
          backend.crash(node.id);
        },
        async cut() {},
        async flush() {
          backend.flush();
        },
        async close() {
          for (const n of nodes) await n.bus.close();
          backend.close();
        },
      };
    },
    async close() {},
  };
}

/** The Redis engine: a redis-server started here, each node with its own two connections, each cluster under its own prefix. */
export async function redisHarness(): Promise<EngineHarness> {
  const redis = await RedisServer.start();
  const admin = new Redis(redis.url);
  let clusters = 0;
  return {
    name: 'single Redis',
    async cluster(ids, s) {
      const keys = new Keys(`ec${++clusters}:`);
      const connections = new Map<string, Redis[]>();
      const nodes = await startNodes(ids, (node) => {
        const pub = connectRedis(redis.url, node, 'pub', silent);
        const sub = connectRedis(redis.url, node, 'sub', silent);
        connections.set(node, [pub, sub]);
        const history = { size: s.historySize, ttlMs: s.historyTtlMs };
        return createRedisEngine({ node, keys, pub, sub, history, heartbeatMs: s.heartbeatMs, nodeTtlMs: s.nodeTtlMs, logger: silent });
      });
      const crashed = new Set<TestNode>();
      return {
        nodes,
        async crash(node) {
          crashed.add(node);
          // Both connections end at once, as when the process is killed; ioredis does not reconnect them.
          for (const r of connections.get(node.id)!) r.disconnect();
        },
        async cut(node) {
          const list = (await admin.call('CLIENT', 'LIST')) as string;
          const id = list.split('\n').find((l) => l.includes(` name=wsforge-${node.id}-sub `))?.match(/^id=(\d+)/)?.[1];
          if (!id) throw new Error(`no subscriber connection of ${node.id}`);
          await admin.call('CLIENT', 'KILL', 'ID', id);
        },
        async flush() {
          await admin.flushall();
        },
        async close() {
          for (const n of nodes) if (!crashed.has(n)) await n.bus.close();
          for (const n of crashed) await n.bus.close().catch(() => undefined);
        },
      };
    },
    async close() {
      admin.disconnect();
      await redis.kill();
    },
  };
}

/**
 * The Redis Cluster engine: 3 masters and 3 replicas started here (RedisClusterServers) unless
 * given (then left running), each node with its two cluster clients (commands; sharded
 * subscribers), each cluster under its own prefix.
 */
export async function redisClusterHarness(given?: RedisClusterServers): Promise<EngineHarness> {
  const servers = given ?? (await RedisClusterServers.start());
  const nodeList = servers.nodes.split(',');
  let clusters = 0;
  return {
    name: 'Redis Cluster',
    async cluster(ids, s) {
      const keys = new ClusterKeys(`rc${++clusters}:`);
      const connections = new Map<string, Array<{ disconnect(): void }>>();
      const nodes = await startNodes(ids, (node) => {
        const pub = connectRedisCluster(nodeList, node, 'pub', silent);
        const shards = connectRedisCluster(nodeList, node, 'sub', silent, { subscriber: true });
        connections.set(node, [pub, shards]);
        const history = { size: s.historySize, ttlMs: s.historyTtlMs };
        return createRedisClusterEngine({ node, keys, pub, shards, history, heartbeatMs: s.heartbeatMs, nodeTtlMs: s.nodeTtlMs, logger: silent });
      });
      const crashed = new Set<TestNode>();
      return {
        nodes,
        async crash(node) {
          crashed.add(node);
          for (const c of connections.get(node.id)!) c.disconnect();
        },
        async cut(node) {
          // Every sharded subscriber connection of the node, on whichever master it is.
          let killed = 0;
          for (const port of servers.alive()) {
            const list = String(await servers.call(port, 'CLIENT', 'LIST'));
            for (const line of list.split('\n').filter((l) => l.includes(`(ssubscriber):wsforge-${node.id}-sub `))) {
              await servers.call(port, 'CLIENT', 'KILL', 'ID', line.match(/^id=(\d+)/)![1]!);
              killed++;
            }
          }
          if (killed === 0) throw new Error(`no sharded subscriber connection of ${node.id}`);
        },
        async flush() {
          for (const port of servers.alive()) if (String(await servers.call(port, 'ROLE')).startsWith('master')) await servers.call(port, 'FLUSHALL');
        },
        async close() {
          for (const n of nodes) if (!crashed.has(n)) await n.bus.close();
          // A disconnected cluster client queues commands instead of failing them: a crashed
          // node's goodbye would wait forever. Closing stops its heartbeat; nothing else is left.
          for (const n of crashed) void n.bus.close().catch(() => undefined);
        },
      };
    },
    async close() {
      if (!given) await servers.close();
    },
  };
}
