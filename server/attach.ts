import { randomUUID } from 'node:crypto';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Router } from 'express';
import { pino, type Logger } from 'pino';
import { mountAdmin, type AdminSettings, type ContentProtocols } from '../admin';
import { Metrics } from '../admin/metrics';
import { createRedisCluster } from './cluster/cluster';
import { defined, loadConfig, resolveConfig, type Config } from './config';
import { JwtAuthenticator, type JwtOptions } from './socket/auth';
import { proxyTrust, type TrustProxy } from './socket/client-address';
import type { SocketLimits } from './socket/limits';
import type { Observer } from './socket/observer';
import { OriginPolicy } from './socket/origin';
import { refuseUpgrade } from './socket/router';
import { SocketService } from './socket/service';
import type { Sockets } from './socket/sockets';
import type { StateStore } from './store/store';

/** What `attachSockets` takes; every field is optional and has the default the README gives its env var. */
export interface AttachOptions {
  /** Limits of the service (WS_* in the README); unset ones keep their defaults. */
  limits?: Partial<SocketLimits>;
  /** This node's id (NODE_ID); default random. */
  nodeId?: string;
  /** pino logger; default warnings and errors to stdout. */
  logger?: Logger;
  /** Verifies the tokens of routes that are not `anonymous` (JWT_*); unset: such routes answer 401. */
  jwt?: JwtOptions;
  /** Browser origins allowed to open sockets besides the page's own (WS_ALLOWED_ORIGINS); `*`: any. */
  allowedOrigins?: string[];
  /** Reverse proxies trusted to say who the client is (TRUST_PROXY): a hop count or addresses. */
  trustProxy?: TrustProxy;
  /**
   * Join a cluster over Redis (REDIS_URL, REDIS_PREFIX, CLUSTER_*): delivery, presence, history;
   * `clusterNodes` (`host:port` each, REDIS_CLUSTER_NODES) instead of `url`: over a Redis Cluster,
   * with `failoverWaitMs` and `slotsRefreshMs` (REDIS_CLUSTER_FAILOVER_WAIT_MS, REDIS_CLUSTER_SLOTS_REFRESH_MS).
   */
  redis?: ({ url: string } | { clusterNodes: string[]; failoverWaitMs?: number; slotsRefreshMs?: number }) & { prefix?: string; heartbeatMs?: number; nodeTtlMs?: number };
  /**
   * Mount the admin (/admin/sockets, its socket, /api/sockets) on this Express app or router, with
   * its settings (ADMIN_*): open to loopback peers only until `token` is set. Off by default.
   * `metrics: true` also serves Prometheus metrics at /metrics behind the same credential.
   * `contentProtocols`: the app's protocols whose server frames its pages show as content (chat
   * lines, cards): the admin pages may not send those cmds, only a `notice` (docs/admin.md).
   */
  admin?: Router | ({ router: Router; metrics?: boolean; contentProtocols?: ContentProtocols } & Partial<AdminSettings>);
}

/**
 * Attaches wsforge to an existing http(s) server and returns its `Sockets`. It takes over
 * nothing else: no example, no admin or /metrics unless asked, and upgrades to paths that no
 * socket route owns are left to the server's other `upgrade` listeners (404 only when there is
 * none). Call `sockets.close()` before `server.close()`.
 */
export function attachSockets(server: HttpServer | HttpsServer, options: AttachOptions = {}): Sockets {
  const admin = options.admin === undefined ? undefined : 'router' in options.admin ? options.admin : { router: options.admin };
  const { router: _router, metrics: _metrics, contentProtocols: _protocols, ...adminSettings } = admin ?? {};
  const config = resolveConfig({
    socket: options.limits,
    nodeId: options.nodeId,
    jwt: options.jwt,
    allowedOrigins: options.allowedOrigins,
    trustProxy: options.trustProxy,
    // The env schema's cluster defaults (REDIS_PREFIX, CLUSTER_*), with what was given over them.
    cluster: options.redis && { ...loadConfig(redisEnv(options.redis)).cluster!, ...defined(clusterSettings(options.redis)) },
    admin: adminSettings,
  });
  const metrics = admin?.metrics ? new Metrics() : undefined;
  const { sockets } = createSockets(config, options.logger ?? pino({ level: 'warn' }), metrics);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (sockets.owns(req)) sockets.handleUpgrade(req, socket, head);
    // Another listener (a GraphQL subscription server, a dev server's hot reload) owns the rest.
    else if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'no socket route here');
  });
  if (admin) mountAdmin({ router: admin.router, sockets, settings: config.admin, behindProxy: config.trustProxy !== undefined, metrics, contentProtocols: admin.contentProtocols });
  return sockets;
}

/** What the `redis` option sets besides which Redis (undefined: the env schema's default). */
function clusterSettings(redis: NonNullable<AttachOptions['redis']>): Partial<Pick<NonNullable<Config['cluster']>, 'prefix' | 'heartbeatMs' | 'nodeTtlMs' | 'failoverWaitMs' | 'slotsRefreshMs'>> {
  const { prefix, heartbeatMs, nodeTtlMs } = redis;
  return 'url' in redis ? { prefix, heartbeatMs, nodeTtlMs } : { prefix, heartbeatMs, nodeTtlMs, failoverWaitMs: redis.failoverWaitMs, slotsRefreshMs: redis.slotsRefreshMs };
}

/** The environment variable that names the Redis of `attachSockets`'s `redis` option. */
function redisEnv(redis: NonNullable<AttachOptions['redis']>): Record<string, string> {
  return 'url' in redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: redis.clusterNodes.join(',') };
}

/**
 * The socket service of a config, and the Redis cluster behind it when `config.cluster` is set:
 * one switch for the whole cluster, Redis replacing the in-memory bus and store together.
 */
export function createSockets(config: Config, log: Logger, observer?: Observer): { sockets: SocketService; store?: StateStore } {
  const nodeId = config.nodeId ?? randomUUID().slice(0, 8);
  const cluster = config.cluster
    ? createRedisCluster({
        redis: config.cluster.clusterNodes
          ? { clusterNodes: config.cluster.clusterNodes, failoverWaitMs: config.cluster.failoverWaitMs, slotsRefreshMs: config.cluster.slotsRefreshMs }
          : { url: config.cluster.redisUrl },
        prefix: config.cluster.prefix,
        node: nodeId,
        history: { size: config.socket.historySize, ttlMs: config.socket.historyTtlMs },
        heartbeatMs: config.cluster.heartbeatMs,
        nodeTtlMs: config.cluster.nodeTtlMs,
        reapBatch: config.cluster.reapBatch,
        logger: log,
      })
    : undefined;
  const sockets = new SocketService({
    ...config.socket,
    nodeId,
    bus: cluster?.bus,
    logger: log,
    observer,
    origins: new OriginPolicy(config.allowedOrigins, config.allowLocalhostOrigins),
    clientAddress: proxyTrust(config.trustProxy).clientAddress,
    authenticator: config.jwt && new JwtAuthenticator(config.jwt),
  });
  return { sockets, store: cluster?.store };
}
