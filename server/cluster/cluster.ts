import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EngineBus, type Engine } from '../socket/bus';
import { redisEngine, type EngineSettings } from './engine';
import { Keys } from './keys';
import { RedisBroker } from './redis-broker';
import { createRedisClusterEngine, connectRedisCluster, type RedisClusterClientOptions } from './redis-cluster';
import { ClusterKeys } from './cluster-keys';
import { RedisStore } from './redis-store';
import { withScripts, type ScriptedRedis } from './scripts';

export interface ClusterOptions extends EngineSettings {
  /** One Redis (REDIS_URL), or the nodes of a Redis Cluster, `host:port` (REDIS_CLUSTER_NODES), and its client settings. */
  redis: { url: string } | ({ clusterNodes: string[] } & RedisClusterClientOptions);
  prefix: string;
}

/**
 * A connection to Redis for one role of a node: retried forever with backoff (100 ms doubling to
 * 2 s), commands waiting in ioredis's offline queue while Redis is away (docs/cluster.md: what is lost).
 */
export function connectRedis(url: string, node: string, role: string, logger: Logger): ScriptedRedis {
  const log = logger.child({ redis: url.replace(/\/\/[^@]*@/, '//***@') });
  const r = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(50 * 2 ** n, 2000), connectionName: `wsforge-${node}-${role}` });
  r.on('error', (err) => log.warn({ err: err.message, role }, 'redis error'));
  r.on('ready', () => log.info({ role }, 'redis ready'));
  return withScripts(r);
}

export interface RedisEngineOptions extends EngineSettings {
  keys: Keys;
  /** Commands: the broker's publishes and history, presence, the node list (and the store). */
  pub: ScriptedRedis;
  /** Subscriber mode: the broker's topics. */
  sub: ScriptedRedis;
}

/** The engine's seams on one Redis: RedisBroker, RedisPresence, the registry over RedisLiveness, and RedisLedger. */
export function createRedisEngine(o: RedisEngineOptions): Engine {
  const broker = new RedisBroker(o.pub, o.sub, { node: o.node, keys: o.keys, history: o.history, logger: o.logger });
  return redisEngine(broker, o.pub, o.keys, o);
}

/**
 * Everything a node needs to run in a cluster on Redis, one server or a Redis Cluster: the engine
 * (as the service's bus) and the feature state store.
 */
export function createRedisCluster(o: ClusterOptions): { bus: EngineBus; store: RedisStore } {
  if ('clusterNodes' in o.redis) {
    const keys = new ClusterKeys(o.prefix);
    const { clusterNodes, failoverWaitMs, slotsRefreshMs } = o.redis;
    const pub = connectRedisCluster(clusterNodes, o.node, 'pub', o.logger, { failoverWaitMs });
    const shards = connectRedisCluster(clusterNodes, o.node, 'sub', o.logger, { failoverWaitMs, subscriber: true, slotsRefreshMs });
    const store = new RedisStore(pub, keys, () => pub.nodes('master'));
    return { bus: new EngineBus(createRedisClusterEngine({ ...o, keys, pub, shards })), store };
  }
  const keys = new Keys(o.prefix);
  const pub = connectRedis(o.redis.url, o.node, 'pub', o.logger);
  const sub = connectRedis(o.redis.url, o.node, 'sub', o.logger);
  const engine = createRedisEngine({ ...o, keys, pub, sub });
  return { bus: new EngineBus(engine), store: new RedisStore(pub, keys) };
}
