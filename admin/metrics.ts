import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CloseCode, type Observer, type Status } from '../server/socket';

/** Close codes worth their own label; any other (clients may pick 3000–4999) counts as "other". */
const labelledCloseCodes = new Set<number>([...Object.values(CloseCode), 1005, 1006, 1007, 1008]);

/**
 * Prometheus metrics for GET /metrics. Totals (connections, channels, frames, bytes) are read
 * from counts() at scrape time, so they cost nothing between scrapes; errors by code, closes and
 * handler durations come from the service's observer hooks. Each app has its own registry.
 */
export class Metrics implements Observer {
  readonly registry = new Registry();
  private readonly connections = new Gauge({ name: 'wsforge_connections', help: 'Open WebSocket connections on this node.', registers: [this.registry] });
  private readonly channels = new Gauge({ name: 'wsforge_channels', help: 'Channels with at least one member on this node.', registers: [this.registry] });
  private readonly frames = new Counter({
    name: 'wsforge_frames_total',
    help: 'WebSocket frames received (in) and sent (out) since start.',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'wsforge_bytes_total',
    help: 'Payload bytes received (in) and sent (out) since start.',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'wsforge_errors_total',
    help: 'Error frames sent, by error code (ws_* / WS_ERR_*: protocol errors reported by the WebSocket).',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly disconnects = new Counter({
    name: 'wsforge_disconnects_total',
    help: 'Closed connections, by close code (4000 kicked, 4008 slow consumer, 1001 shutdown, other: any code not listed).',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly slowConsumers = new Counter({
    name: 'wsforge_slow_consumer_disconnects_total',
    help: 'Connections closed because their outbound buffer passed WS_MAX_BUFFERED (close 4008).',
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: 'wsforge_handler_duration_seconds',
    help: 'Time route handlers took for client cmds that succeeded, by cmd (async ones until they settled).',
    labelNames: ['cmd'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  handled(cmd: string, seconds: number): void {
    this.durations.observe({ cmd }, seconds);
  }

  error(code: string): void {
    this.errors.inc({ code });
  }

  closed(code: number): void {
    this.disconnects.inc({ code: labelledCloseCodes.has(code) ? String(code) : 'other' });
    if (code === CloseCode.slowConsumer) this.slowConsumers.inc();
  }

  /** This node's metrics: Prometheus scrapes every node, so nothing here is cluster-wide (sums would double). */
  render(c: Status['counts']): Promise<string> {
    this.connections.set(c.connections);
    this.channels.set(c.channels);
    setTotals(this.frames, c.messagesIn, c.messagesOut);
    setTotals(this.bytes, c.bytesIn, c.bytesOut);
    return this.registry.metrics();
  }
}

/** counts() already keeps the running totals: the counters just mirror them. */
function setTotals(counter: Counter<'direction'>, inbound: number, outbound: number): void {
  counter.reset();
  counter.inc({ direction: 'in' }, inbound);
  counter.inc({ direction: 'out' }, outbound);
}
