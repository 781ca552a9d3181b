import { monitorPage } from '../../../views/examples/monitor';
import type { Feature } from '../feature';
import { createMonitorHandler } from './handler';

/**
 * System monitor: the page at /examples/monitor and its socket at /examples/monitor/socket.
 * Every connection joins this node's monitor channel; there are no rooms (a node has one set of metrics).
 */
export const monitorFeature: Feature = ({ router, sockets, config, guests }) => {
  const { intervalMs, historySize, cpuAlertPercent, lagAlertMs, rssAlertMb } = config.monitor;
  const thresholds = { cpuPercent: cpuAlertPercent, lagMs: lagAlertMs, rssMb: rssAlertMb };
  router.get('/examples/monitor', (_req, res) => {
    res.type('html').send(monitorPage({ wsEnabled: sockets !== undefined, intervalMs, thresholds }));
  });
  if (!sockets) return;
  const channel = `monitor:${sockets.node}`;
  const { handler } = createMonitorHandler(sockets, { channel, intervalMs, historySize, thresholds });
  sockets.route('/examples/monitor/socket', (req, url, identity) => ({ channel, profile: identity?.profile ?? guests.profile(req, url), handler }), {
    anonymous: true, namespace: 'monitor',
    // Watching only: no joining or publishing to other channels.
    authorize: (conn, ch) => ch === conn.channel,
  });
};
