/**
 * wsforge under benchmark: createApp with one extra feature built only on the public API.
 * Clients connect to /bench/socket?ch=<channel> (the route joins them to it) and send
 * `{channel, cmd: 'publish', param: {payload}}`; the handler writes `msg {payload}` to the channel.
 */
import { z } from 'zod';
import { createApp } from '../../server/app';
import type { ConfigInput } from '../../server/config';
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

let open = 0;

const benchHandler = defineHandler(
  benchProtocol,
  {
    publish: (svc, _conn, { payload }, { channel }) => {
      svc.writeChannel(benchProtocol.message(channel, 'msg', { payload }));
    },
  },
  {
    // Counted after the route channel is joined (onOpen runs after the join).
    onOpen: () => {
      open++;
    },
    onClose: () => {
      open--;
    },
  },
);

/**
 * The load generator is one address opening up to 10,000 connections, and its publisher sends
 * thousands of frames a second: the per-address connection cap and the per-connection frame
 * rate limit are lifted for this route. Neither peer announces arrivals, so neither does this
 * route (presence is still tracked); everything else keeps its defaults.
 */
const unlimited = 1_000_000_000;

const benchFeature: Feature = ({ sockets }) => {
  sockets?.route('/bench/socket', (_req, url) => ({ channel: url.searchParams.get('ch') || 'bench', handler: benchHandler }), {
    anonymous: true,
    rateLimit: { perSecond: unlimited, burst: unlimited },
    presenceUpdates: false,
  });
};

const app = createApp({
  // BENCH_LOG_LEVEL=debug npm run bench … shows why the service closed a connection.
  logLevel: (process.env.BENCH_LOG_LEVEL ?? 'silent') as ConfigInput['logLevel'],
  features: [benchFeature],
  socket: { maxConnectionsPerIp: unlimited },
});
await startBenchServer({ name: 'wsforge', server: app.server, connections: () => open });
