import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { pino, type Logger } from 'pino';
import { homePage } from '../views/home';
import { GuestIdentity } from './guest';
import { resolveConfig, type Config, type ConfigInput } from './config';
import { builtinFeatures } from './features';
import type { Feature } from './features/feature';
import { refuseUpgrade } from './socket/router';
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
  const { logger, features = [], store = new MemoryStore(), ...input } = options;
  const config = resolveConfig(input);
  const log = logger ?? pino({ level: config.logLevel });
  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);
  const sockets = config.wsEnabled ? new SocketService({ ...config.socket, nodeId: config.nodeId, logger: log }) : undefined;
  server.on('upgrade', sockets ? sockets.handleUpgrade : (_req, socket) => refuseUpgrade(socket, 404, 'WebSockets are disabled (WS_ENABLED=false)'));

  app.use(express.static(`${root}public`, { index: false, maxAge: '1h' }));
  const guests = new GuestIdentity(config.sessionSecret);
  const router = express.Router();
  router.use(guests.middleware);
  for (const feature of [...builtinFeatures, ...features]) feature({ router, sockets, config, store, guests });
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
