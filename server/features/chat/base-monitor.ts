import { statfsSync } from 'node:fs';
import type { Sockets } from '../../socket';
import { MetricsSampler, socketCounts, type Sample, type Thresholds } from '../monitor/metrics';
import { chat } from './protocol';

/**
 * Real metrics for Base Framework's monitor.html, which charts whatever `system_metrics` frames
 * it gets (`content: {cpu, memory, disk}`, each a percentage) and itself sends random numbers
 * every second. Those are dropped; this node measures itself instead, with the monitor
 * example's sampler, while it has monitor.html clients (none: no timer), and sends each of them
 * `system_metrics` every MONITOR_INTERVAL_MS. Per node, like the monitor example: a page sees
 * the node it is connected to.
 *
 * | field | what |
 * |---|---|
 * | `cpu` | the machine's CPU use over the interval, % of all cores (`os.cpus()`) |
 * | `memory` | memory in use, % of `os.totalmem()` (total minus `os.freemem()`) |
 * | `disk` | the filesystem of the working directory, % in use as `df` shows it: used / (used + available to users), `statfs` |
 */
export interface BaseMetrics {
  cpu: number;
  memory: number;
  disk: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * How full the filesystem holding `path` is, as `df`'s Use% (unrounded): the blocks in use over
 * those in use plus those free for ordinary users; blocks reserved for root count as neither, so
 * a disk is 100% when users can write no more. 0 when it cannot be read.
 */
function diskPercent(path: string = process.cwd()): number {
  try {
    const s = statfsSync(path);
    const used = s.blocks - s.bfree;
    return used + s.bavail > 0 ? round1((used / (used + s.bavail)) * 100) : 0;
  } catch {
    return 0;
  }
}

/** A monitor sample as monitor.html's `system_metrics` content. */
function baseMetrics(s: Sample, disk: number): BaseMetrics {
  const { systemFree, systemTotal } = s.memory;
  return { cpu: s.cpu.system, memory: systemTotal > 0 ? round1(((systemTotal - systemFree) / systemTotal) * 100) : 0, disk };
}

export interface BaseMonitorOptions {
  intervalMs: number;
  thresholds: Thresholds;
  /** Samples replayed to a joining page (its charts show this many). */
  replay: number;
}

/** Samples this node for its monitor.html clients, while it has any. */
export class BaseMonitor {
  /** This node's monitor.html connections: id → its channel (its room). */
  private readonly watchers = new Map<string, string>();
  private readonly sampler: MetricsSampler;
  private readonly recent: Array<{ time: number; metrics: BaseMetrics }> = [];

  constructor(
    private readonly svc: Sockets,
    private readonly o: BaseMonitorOptions,
  ) {
    this.sampler = new MetricsSampler({
      node: svc.node,
      intervalMs: o.intervalMs,
      historySize: 1,
      thresholds: o.thresholds,
      sources: {
        counts: () => socketCounts(svc),
      },
      onSample: (sample) => {
        for (const id of this.watchers.keys()) if (!svc.getConnection(id)) this.watchers.delete(id); // closed before it was told
        if (this.watchers.size === 0) return false;
        const metrics = baseMetrics(sample, diskPercent());
        this.recent.push({ time: sample.time, metrics });
        if (this.recent.length > o.replay) this.recent.shift();
        for (const [id, channel] of this.watchers) this.svc.writeConnection(id, chat.message(channel, 'base', { type: 'system_metrics', content: metrics }));
      },
    });
  }

  get running(): boolean {
    return this.sampler.running;
  }

  /** A monitor.html connection opened: it gets the recent samples (if they are recent), then one every interval. */
  add(connId: string, channel: string): void {
    const since = Date.now() - this.o.replay * this.o.intervalMs;
    for (const { time, metrics } of this.recent) {
      if (time >= since) this.svc.writeConnection(connId, chat.message(channel, 'base', { type: 'system_metrics', content: metrics }));
    }
    this.watchers.set(connId, channel);
    this.sampler.start();
  }

  /** A monitor.html connection closed: the last one stops the sampling. */
  remove(connId: string): void {
    this.watchers.delete(connId);
    if (this.watchers.size === 0) this.sampler.stop();
  }
}
