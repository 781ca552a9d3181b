/**
 * wsforge under benchmark: the app `npm start` runs (createApp with the config loaded from the
 * environment, loadConfig, so every example route is mounted as it ships: /example/socket,
 * /examples/chat/socket, Base's /api/ws …), plus the old benchmark route as a REFERENCE only.
 *
 * The orchestrator (bench/run.ts) sets the server-side environment of each phase (raised
 * WS_RATE_LIMIT_* for a single fast publisher, WS_MAX_CONNECTIONS_PER_IP because the load
 * generator is a handful of loopback addresses) and results.md lists what it set.
 *
 * The reference route /bench/socket?ch=<channel> is what earlier benchmarks measured: no
 * `authorize` hook, a sync handler, presence updates off, rate limit lifted. Clients send
 * `{channel, cmd: 'publish', param: {payload}}`; the handler writes `msg {payload}` to the channel.
 */
import { z } from 'zod';
import { createApp } from '../../server/app';
import { loadConfig, type ConfigInput } from '../../server/config';
import type { Feature } from '../../server/features/feature';
import { defineHandler } from '../../server/socket/handler';
import { defineProtocol } from '../../server/socket/protocol';
import { startBenchServer } from './common';

export const benchProtocol = defineProtocol({
  client: {
    publish: z.object({ payload: z.string().max(4096) }),
  },
  server: {
    msg: z.object({ payload: z.string() }),
  },
});

const benchHandler = defineHandler(benchProtocol, {
  publish: (svc, _conn, { payload }, { channel }) => {
    svc.writeChannel(benchProtocol.message(channel, 'msg', { payload }));
  },
});

const unlimited = 1_000_000_000;

/** The reference route (not a real one): kept to compare with the figures of earlier runs. */
const referenceFeature: Feature = ({ sockets }) => {
  sockets?.route('/bench/socket', (_req, url) => ({ channel: url.searchParams.get('ch') || 'bench', handler: benchHandler }), {
    anonymous: true,
    rateLimit: { perSecond: unlimited, burst: unlimited },
    presenceUpdates: false,
  });
};

// The environment as `npm start` reads it (bench/run.ts sets the load's variables per phase).
const config = loadConfig(process.env);
const app = createApp({
  ...config,
  // BENCH_LOG_LEVEL=debug npm run bench … shows why the service closed a connection.
  logLevel: (process.env.BENCH_LOG_LEVEL ?? 'silent') as ConfigInput['logLevel'],
  features: [referenceFeature],
});
if (!app.sockets) throw new Error('the benchmark needs WS_ENABLED=true');
const sockets = app.sockets;
await startBenchServer({ name: 'wsforge', server: app.server, connections: () => sockets.counts().connections });
