import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ClusterRegistry } from '../engine/registry';
import { EngineBus, type Engine } from '../socket/bus';
import type { HistoryOptions } from '../socket/history';
import { Keys } from './keys';
import { RedisBroker } from './redis-broker';
import { RedisLiveness } from './redis-liveness';
import { RedisPresence } from './redis-presence';
import { RedisStore } from './redis-store';
import { withScripts, type ScriptedRedis } from './scripts';

export interface ClusterOptions {
  url: string;
  prefix: string;
  node: string;
  history: HistoryOptions;
  heartbeatMs: number;
  nodeTtlMs: number;
  logger: Logger;
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

export interface RedisEngineOptions extends Omit<ClusterOptions, 'url' | 'prefix'> {
  keys: Keys;
  /** Commands: the broker's publishes and history, presence, the node list (and the store). */
  pub: ScriptedRedis;
  /** Subscriber mode: the broker's topics. */
  sub: ScriptedRedis;
}

/** The engine's three seams on one Redis: RedisBroker, RedisPresence, and the registry over RedisLiveness. */
export function createRedisEngine(o: RedisEngineOptions): Engine {
  const broker = new RedisBroker(o.pub, o.sub, { node: o.node, keys: o.keys, history: o.history, logger: o.logger });
  const presence = new RedisPresence(o.pub, o.keys, o.node, o.nodeTtlMs);
  const liveness = new RedisLiveness(o.pub, o.keys);
  const registry = new ClusterRegistry({ node: o.node, liveness, presence, broker, heartbeatMs: o.heartbeatMs, nodeTtlMs: o.nodeTtlMs, logger: o.logger });
  return { broker, presence, registry };
}

/** Everything a node needs to run in a cluster on one Redis: the engine (as the service's bus) and the feature state store. */
export function createRedisCluster(o: ClusterOptions): { bus: EngineBus; store: RedisStore } {
  const keys = new Keys(o.prefix);
  const pub = connectRedis(o.url, o.node, 'pub', o.logger);
  const sub = connectRedis(o.url, o.node, 'sub', o.logger);
  const engine = createRedisEngine({ ...o, keys, pub, sub });
  return { bus: new EngineBus(engine), store: new RedisStore(pub, keys) };
}
