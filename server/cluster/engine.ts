import type { Logger } from 'pino';
import { ClusterRegistry } from '../engine/registry';
import type { Engine } from '../socket/bus';
import type { Broker } from '../socket/broker';
import type { HistoryOptions } from '../socket/history';
import type { Keys } from './keys';
import { RedisLedger } from './redis-ledger';
import { RedisLiveness } from './redis-liveness';
import { RedisPresence } from './redis-presence';
import type { RedisClient, ScriptedRedis } from './scripts';

/** What a node's Redis engine is set up with, on one Redis or on a Redis Cluster. */
export interface EngineSettings {
  node: string;
  history: HistoryOptions;
  heartbeatMs: number;
  nodeTtlMs: number;
  /** Most entries one reap script call handles (CLUSTER_REAP_BATCH); its default when unset. */
  reapBatch?: number;
  logger: Logger;
}

/**
 * A Redis engine around its broker (which carries the frames: pub/sub on one Redis, sharded pub/sub
 * on a Redis Cluster): RedisPresence, the registry over RedisLiveness and the retry ledger, on the command connection.
 */
export function redisEngine(broker: Broker, redis: ScriptedRedis<RedisClient>, keys: Keys, o: EngineSettings): Engine {
  const presence = new RedisPresence(redis, keys, o.node, o.nodeTtlMs, o.reapBatch);
  const liveness = new RedisLiveness(redis, keys);
  const registry = new ClusterRegistry({ node: o.node, liveness, presence, broker, heartbeatMs: o.heartbeatMs, nodeTtlMs: o.nodeTtlMs, logger: o.logger });
  return { broker, presence, registry, retries: new RedisLedger(redis, keys.retry) };
}
