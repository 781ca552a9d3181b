/**
 * The Redis backends a cluster of wsforge nodes runs on, behind one shape so the same scenarios
 * (test/cluster.test.ts) run on each: one redis-server (REDIS_URL) and a Redis Cluster of 3
 * masters and 3 replicas (REDIS_CLUSTER_NODES). As for a user, only that one variable differs.
 */
import { RedisServer } from './processes';
import { RedisClusterServers } from './redis-cluster';

/** Where a node finds its Redis. */
export interface BackendAddress {
  /** For a node process: REDIS_URL or REDIS_CLUSTER_NODES. */
  env: Record<string, string>;
  /** The same for an in-process node (AppOptions.cluster, with prefix and timings added). */
  connection: { redisUrl: string } | { clusterNodes: string[] };
}

export function onRedis(redis: RedisServer): BackendAddress {
  return { env: { REDIS_URL: redis.url }, connection: { redisUrl: redis.url } };
}

export function onRedisCluster(servers: RedisClusterServers): BackendAddress {
  return { env: { REDIS_CLUSTER_NODES: servers.nodes }, connection: { clusterNodes: servers.nodes.split(',') } };
}

export interface RunningBackend extends BackendAddress {
  /** Kills its redis-server processes. */
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Starts it on free ports (a Redis Cluster takes a few seconds). */
  start(): Promise<RunningBackend>;
}

export const backends: Backend[] = [
  {
    name: 'one Redis',
    async start() {
      const redis = await RedisServer.start();
      return { ...onRedis(redis), close: () => redis.kill() };
    },
  },
  {
    name: 'a Redis Cluster',
    async start() {
      const servers = await RedisClusterServers.start();
      return { ...onRedisCluster(servers), close: () => servers.close() };
    },
  },
];
