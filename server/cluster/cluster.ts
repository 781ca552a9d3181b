import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { HistoryOptions } from '../socket/history';
import { Keys } from './keys';
import { RedisBus } from './redis-bus';
import { RedisStore } from './redis-store';
import { withScripts } from './scripts';

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
 * The Redis-backed seams for running several nodes: the bus (delivery, history, presence,
 * cluster status) and the feature state store. Connections retry forever with backoff, and
 * commands wait in ioredis's offline queue while Redis is away (docs/cluster.md: what is lost).
 */
export function createRedisCluster(o: ClusterOptions): { bus: RedisBus; store: RedisStore } {
  const log = o.logger.child({ redis: o.url.replace(/\/\/[^@]*@/, '//***@') });
  const connect = (role: string) => {
    const r = new Redis(o.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(50 * 2 ** n, 2000), connectionName: `wsforge-${o.node}-${role}` });
    r.on('error', (err) => log.warn({ err: err.message, role }, 'redis error'));
    r.on('ready', () => log.info({ role }, 'redis ready'));
    return withScripts(r);
  };
  const keys = new Keys(o.prefix);
  const pub = connect('pub');
  const bus = new RedisBus(pub, connect('sub'), { node: o.node, keys, history: o.history, heartbeatMs: o.heartbeatMs, nodeTtlMs: o.nodeTtlMs, logger: o.logger });
  return { bus, store: new RedisStore(pub, keys) };
}
