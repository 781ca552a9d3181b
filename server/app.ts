import { createServer, type Server } from 'node:http';
import express, { type Express } from 'express';
import { pino, type Logger } from 'pino';
import { mountAdmin } from '../admin';
import { Metrics } from '../admin/metrics';
import { homePage } from '../views/home';
import { createSockets } from './attach';
import { resolveConfig, type Config, type ConfigInput } from './config';
import { builtinFeatures, builtinProtocols } from './features';
import type { Feature } from './features/feature';
import { isVolatileKey } from './features/volatile';
import { GuestIdentity, processSecret, storedSecret } from './guest';
import { publicDir } from './paths';
import { securityHeaders } from './security-headers';
import { proxyTrust } from './socket/client-address';
import { refuseUpgrade } from './socket/router';
import type { SocketService } from './socket/service';
import { DurableStore } from './store/durable-store';
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

export interface AppOptions extends Omit<ConfigInput, 'store'> {
  logger?: Logger;
  /** Extra features to mount beside the built-in ones. */
  features?: Feature[];
  /**
   * Where features keep shared state: a StateStore of your own, or `durable` (the embedded
   * database in `dataDir`, which survives restarts) or `memory`. Default: Redis with `cluster`,
   * else memory (`npm start` passes STORE from the environment: durable by default).
   */
  store?: StateStore | Config['store'];
}

/**
 * The full server that `npm start` runs: the examples (unless EXAMPLES_ENABLED=false), the admin
 * with /metrics, and the app's own `features`, on one Express app. An existing app uses
 * `attachSockets` (attach.ts) instead.
 */
export function createApp(options: AppOptions = {}): WsforgeApp {
  const { logger, features = [], store: storeOption, ...input } = options;
  const givenStore = typeof storeOption === 'object' ? storeOption : undefined;
  const config = resolveConfig({ ...input, store: typeof storeOption === 'string' ? storeOption : undefined });
  const log = logger ?? pino({ level: config.logLevel });
  const app = express();
  app.disable('x-powered-by');
  // req.ip and req.secure (cookies' Secure flag) follow the same proxies as the sockets' client addresses.
  app.set('trust proxy', proxyTrust(config.trustProxy).setting);
  const server = createServer(app);
  // Metrics observe the service (errors, closes, handler times) from its first connection on.
  const metrics = new Metrics();
  const created = config.wsEnabled ? createSockets(config, log, metrics) : undefined;
  const sockets = created?.sockets;
  // A single node keeps its state in the embedded database unless asked for memory.
  const durable = !givenStore && !created?.store && config.store === 'durable';
  const store =
    givenStore ??
    created?.store ??
    (durable
      ? new DurableStore({
          dir: config.dataDir,
          maxBytes: config.dataMaxBytes,
          volatile: isVolatileKey,
          onEvict: (key, bytes) => log.warn({ key, bytes, maxBytes: config.dataMaxBytes }, 'durable store full (DATA_MAX_MB): evicted the least recently written key'),
        })
      : new MemoryStore());
  if (durable) log.info({ dataDir: config.dataDir }, 'feature state kept in the durable store');
  server.on('upgrade', sockets ? sockets.handleUpgrade : (_req, socket) => refuseUpgrade(socket, 404, 'WebSockets are disabled (WS_ENABLED=false)'));

  app.use(securityHeaders());
  app.use(express.static(publicDir, { index: false, maxAge: '1h' }));
  // Without SESSION_SECRET: one kept beside the durable store (guests survive restarts), else one per process.
  const guests = new GuestIdentity(config.sessionSecret ?? (durable ? storedSecret(config.dataDir) : processSecret));
  const router = express.Router();
  router.use(guests.middleware);
  const mounted = [...(config.examplesEnabled ? builtinFeatures : []), ...features];
  for (const feature of mounted) feature({ router, sockets, config, store, guests });
  // There is nothing to administer without sockets.
  if (sockets) mountAdmin({ router, sockets, settings: config.admin, behindProxy: config.trustProxy !== undefined, metrics, contentProtocols: config.examplesEnabled ? builtinProtocols : {} });
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
