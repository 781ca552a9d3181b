import { Cluster, type ClusterOptions as IoClusterOptions } from 'ioredis';
import type { Logger } from 'pino';
import { redisClusterDefaults } from '../config';
import type { Engine } from '../socket/bus';
import type { ClusterKeys } from './cluster-keys';
import { redisEngine, type EngineSettings } from './engine';
import { ShardedBroker } from './sharded-broker';
import { withScripts, type ScriptedRedis } from './scripts';

/** How often a command is retried while it waits out a failover. */
const retryDelayMs = 200;

export interface RedisClusterClientOptions {
  /** How long a command waits out a failover or a cluster-down (REDIS_CLUSTER_FAILOVER_WAIT_MS). */
  failoverWaitMs?: number;
  /** The sharded subscriber (one connection per master this node has topics on), not a command client. */
  subscriber?: boolean;
  /**
   * How often the subscriber reads the slot map (REDIS_CLUSTER_SLOTS_REFRESH_MS). A slot move
   * makes the old master drop our SSUBSCRIBE, and ioredis then reads the slot map from a random
   * node; read before every master has taken the move, it is unchanged, and nothing would
   * subscribe us on the new owner again. Reading the map on a timer (`slotsRefreshInterval`, off
   * by default in ioredis) heals that: delivery resumes within it, the gap filled from history.
   */
  slotsRefreshMs?: number;
}

/** `host:port` (or `[v6]:port`) → what ioredis takes. */
function hostPort(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  return { host: node.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(colon + 1)) };
}

/**
 * A Redis Cluster client for one role of a node, given some of its nodes (it finds the rest).
 * ioredis follows MOVED and ASK and refreshes its slot map, and reconnects forever (50 ms doubling
 * to 2 s). While a master is down and until its replica is promoted (or the cluster is down), a
 * command to its slots is retried every `retryDelayMs` for `failoverWaitMs`, waiting as it does
 * on one Redis: a failover within that loses no command (docs/cluster.md, "Redis Cluster").
 */
export function connectRedisCluster(nodes: string[], node: string, role: string, logger: Logger, o: RedisClusterClientOptions = {}): ScriptedRedis<Cluster> {
  const log = logger.child({ redisCluster: nodes.join(',') });
  const { failoverWaitMs = redisClusterDefaults.failoverWaitMs, slotsRefreshMs = redisClusterDefaults.slotsRefreshMs } = o;
  const subscriber: IoClusterOptions = o.subscriber ? { shardedSubscribers: true, slotsRefreshInterval: slotsRefreshMs } : {};
  const c = new Cluster(nodes.map(hostPort), {
    scaleReads: 'master',
    clusterRetryStrategy: (n) => Math.min(50 * 2 ** n, 2000),
    retryDelayOnFailover: retryDelayMs,
    retryDelayOnClusterDown: retryDelayMs,
    retryDelayOnTryAgain: retryDelayMs,
    maxRedirections: Math.max(1, Math.ceil(failoverWaitMs / retryDelayMs)),
    redisOptions: { connectionName: `wsforge-${node}-${role}` },
    ...subscriber,
  });
  const warn = onceInAWhile((err: string, repeated: number, redis?: string) => log.warn({ err, role, redis, repeated }, 'redis cluster error'));
  c.on('error', (err: Error) => warn(err.message));
  c.on('node error', (err: Error, key: string) => warn(err.message, key));
  c.on('ready', () => log.info({ role }, 'redis cluster ready'));
  return withScripts(c);
}

export interface RedisClusterEngineOptions extends EngineSettings {
  keys: ClusterKeys;
  /** Commands, routed to each key's shard: publishes, history, presence, the node list (and the store). */
  pub: ScriptedRedis<Cluster>;
  /** Sharded subscribers (`shardedSubscribers: true`): one connection per master this node has topics on. */
  shards: Cluster;
}

/** The engine's seams on a Redis Cluster: ShardedBroker, RedisPresence, the registry over RedisLiveness, and RedisLedger. */
export function createRedisClusterEngine(o: RedisClusterEngineOptions): Engine {
  const broker = new ShardedBroker(o.pub, o.shards, { node: o.node, keys: o.keys, history: o.history, logger: o.logger });
  return redisEngine(broker, o.pub, o.keys, o);
}

/** An error logged again within this while only adds to a count: ioredis repeats one for every attempt, every few ms while a master is down. */
const errorLogMs = 5000;

/** Calls `log` for an error, and for the same error (and node) again once errorLogMs has passed, with how often it came meanwhile. */
function onceInAWhile(log: (err: string, repeated: number, redis?: string) => void): (err: string, redis?: string) => void {
  const seen = new Map<string, { at: number; repeated: number }>();
  return (err, redis) => {
    const key = `${redis ?? ''} ${err}`;
    const now = Date.now();
    const s = seen.get(key);
    if (s && now - s.at < errorLogMs) return void s.repeated++;
    log(err, s?.repeated ?? 0, redis);
    seen.set(key, { at: now, repeated: 0 });
    // Errors come and go with nodes: forget the old ones.
    for (const [k, v] of seen) if (now - v.at > errorLogMs * 12) seen.delete(k);
  };
}
