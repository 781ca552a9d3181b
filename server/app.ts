import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { pino, type Logger } from 'pino';
import { homePage } from '../views/home';
import { resolveConfig, type Config, type ConfigInput } from './config';
import { exampleFeature } from './features/example/routes';
import type { Feature } from './features/feature';
import { refuseUpgrade } from './socket/router';
import { SocketService } from './socket/service';

export interface WsforgeApp {
  app: Express;
  server: Server;
  /** Absent when WS_ENABLED=false: no service is created and no socket route registered. */
  sockets?: SocketService;
  config: Config;
  log: Logger;
  /** Graceful shutdown: sockets first (close 1001), then the HTTP server. */
  close(): Promise<void>;
}

export interface AppOptions extends ConfigInput {
  logger?: Logger;
  /** Extra features to mount beside the built-in ones. */
  features?: Feature[];
}

/** Project root: one level above both server/ (tsx) and dist/ (bundled). */
const root = fileURLToPath(new URL('..', import.meta.url));

export function createApp(options: AppOptions = {}): WsforgeApp {
  const { logger, features = [], ...input } = options;
  const config = resolveConfig(input);
  const log = logger ?? pino({ level: config.logLevel });
  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);
  const sockets = config.wsEnabled ? new SocketService({ ...config.socket, nodeId: config.nodeId, logger: log }) : undefined;
  server.on('upgrade', sockets ? sockets.handleUpgrade : (_req, socket) => refuseUpgrade(socket, 404, 'WebSockets are disabled (WS_ENABLED=false)'));

  app.use(express.static(`${root}public`, { index: false, maxAge: '1h' }));
  const router = express.Router();
  for (const feature of [exampleFeature, ...features]) feature({ router, sockets, config });
  router.get('/', (_req, res) => {
    res.type('html').send(homePage(config.wsEnabled, sockets?.routes.paths() ?? []));
  });
  app.use(router);

  return {
    app,
    server,
    sockets,
    config,
    log,
    async close() {
      await sockets?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
