import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { pino, type Logger } from 'pino';
import { adminFeature } from '../admin';
import { Metrics } from '../admin/metrics';
import { homePage } from '../views/home';
import { GuestIdentity } from './guest';
import { createRedisCluster } from './cluster/cluster';
import { resolveConfig, type Config, type ConfigInput } from './config';
import { builtinFeatures } from './features';
import type { Feature } from './features/feature';
import { refuseUpgrade } from './socket/router';
import { securityHeaders } from './security-headers';
import { JwtAuthenticator } from './socket/auth';
import { proxyTrust } from './socket/client-address';
import { OriginPolicy } from './socket/origin';
import { SocketService } from './socket/service';
import { MemoryStore } from './store/memory-store';
import type { StateStore } from './store/store';

export interface WsforgeApp {
  app: Express;
  server: Server;
  /** Absent when WS_ENABLED=false: no service is created and no socket route registered. */
  sockets?: SocketService;
  config: Config;
  store: StateStore;
  log: Logger;
  /** Graceful shutdown: sockets first (close 1001), then the HTTP server. */
  close(): Promise<void>;
}

export interface AppOptions extends ConfigInput {
  logger?: Logger;
  /** Extra features to mount beside the built-in ones. */
  features?: Feature[];
  /** Where features keep shared state; default in memory. */
  store?: StateStore;
}

/** Project root: one level above both server/ (tsx) and dist/ (bundled). */
const root = fileURLToPath(new URL('..', import.meta.url));

export function createApp(options: AppOptions = {}): WsforgeApp {
  const { logger, features = [], store: givenStore, ...input } = options;
  const config = resolveConfig(input);
  const log = logger ?? pino({ level: config.logLevel });
  const nodeId = config.nodeId ?? randomUUID().slice(0, 8);
  // One switch for the whole cluster: Redis replaces the in-memory bus and store together.
  const cluster = config.cluster
    ? createRedisCluster({
        url: config.cluster.redisUrl,
        prefix: config.cluster.prefix,
        node: nodeId,
        history: { size: config.socket.historySize, ttlMs: config.socket.historyTtlMs },
        heartbeatMs: config.cluster.heartbeatMs,
        nodeTtlMs: config.cluster.nodeTtlMs,
        logger: log,
      })
    : undefined;
  const store = givenStore ?? cluster?.store ?? new MemoryStore();
  const app = express();
  app.disable('x-powered-by');
  // req.ip, req.secure (cookies' Secure flag) and the sockets' client addresses follow the same proxies.
  const proxies = proxyTrust(config.trustProxy);
  app.set('trust proxy', proxies.setting);
  const server = createServer(app);
  // Metrics observe the service (errors, closes, handler times) from its first connection on.
  const metrics = new Metrics();
  const sockets = config.wsEnabled ? new SocketService({
        ...config.socket,
        nodeId,
        bus: cluster?.bus,
        logger: log,
        observer: metrics,
        origins: new OriginPolicy(config.allowedOrigins, config.allowLocalhostOrigins),
        clientAddress: proxies.clientAddress,
        authenticator: config.jwt && new JwtAuthenticator(config.jwt),
      }) : undefined;
  server.on('upgrade', sockets ? sockets.handleUpgrade : (_req, socket) => refuseUpgrade(socket, 404, 'WebSockets are disabled (WS_ENABLED=false)'));

  app.use(securityHeaders());
  app.use(express.static(`${root}public`, { index: false, maxAge: '1h' }));
  const guests = new GuestIdentity(config.sessionSecret);
  const router = express.Router();
  router.use(guests.middleware);
  for (const feature of [...builtinFeatures, adminFeature(metrics), ...features]) feature({ router, sockets, config, store, guests });
  router.get('/', (_req, res) => {
    res.type('html').send(homePage(config.wsEnabled, sockets?.routes.paths() ?? []));
  });
  app.use(router);

  return {
    app,
    server,
    sockets,
    config,
    store,
    log,
    async close() {
      await sockets?.close();
      if (!sockets) await cluster?.bus.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
