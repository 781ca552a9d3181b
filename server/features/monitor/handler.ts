import { defineHandler, type Handler, type Sockets } from '../../socket';
import { MetricsSampler, socketCounts, type Thresholds } from './metrics';
import { monitor } from './protocol';

export interface MonitorOptions {
  /** The channel samples go to; per node (`monitor:<node>`), since each node measures itself. */
  channel: string;
  intervalMs: number;
  historySize: number;
  thresholds: Thresholds;
}

/**
 * The monitor's socket handler and its sampler. The sampler runs only while the monitor
 * channel has members: the first connection starts it, the last one to close stops it, and
 * each tick checks the channel too (a client may also `leave` it), so nobody watching costs nothing.
 */
export function createMonitorHandler(sockets: Sockets, o: MonitorOptions): { handler: Handler; sampler: MetricsSampler } {
  const watchers = (except?: string) => sockets.getConnectionsByChannel(o.channel).filter((c) => c.id !== except).length;
  const sampler = new MetricsSampler({
    node: sockets.node,
    intervalMs: o.intervalMs,
    historySize: o.historySize,
    thresholds: o.thresholds,
    sources: {
      counts: () => socketCounts(sockets),
    },
    onSample: (sample) => {
      if (watchers() === 0) return false;
      sockets.writeChannel(monitor.message(o.channel, 'sample', sample));
    },
  });
  const handler = defineHandler(
    monitor,
    {
      hello: () => {
        // Also after a client left and re-joined the channel: make sure someone samples for it.
        if (watchers() > 0) sampler.start();
        return { node: sockets.node, intervalMs: o.intervalMs, historySize: o.historySize, thresholds: o.thresholds, history: sampler.history() };
      },
    },
    {
      onOpen: () => sampler.start(),
      // onClose runs before the service removes the connection from its channels: count the others.
      onClose: (_svc, conn) => {
        if (watchers(conn.id) === 0) sampler.stop();
      },
    },
  );
  return { handler, sampler };
}
