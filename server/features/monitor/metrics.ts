import os from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Sockets } from '../../socket';

/**
 * The monitor's measurements: pure math over two readings (unit-tested with made-up inputs)
 * and `MetricsSampler`, which takes real readings from Node and the socket service once per
 * interval, but only between start() and stop(), so nothing is measured while nobody watches.
 */

/** One reading of everything the monitor measures; deltas between two readings make a sample. */
export interface Reading {
  /** Monotonic clock, in microseconds (process.hrtime). */
  timeUs: number;
  /** Wall clock, ms since the epoch: the sample's timestamp. */
  wallMs: number;
  /** process.cpuUsage(): CPU time this process has used, in microseconds. */
  cpu: { user: number; system: number };
  /** The machine's CPU times summed over its cores (os.cpus()), in ms. */
  machine: { busy: number; total: number };
  memory: { rss: number; heapUsed: number; heapTotal: number };
  system: { free: number; total: number };
  /** The service's totals: they only grow (closed connections' counts are kept). */
  counts: { connections: number; channels: number; messagesIn: number; messagesOut: number };
}

/** Event-loop lag over one interval, in ms: how late a 10 ms timer fired. */
export interface LoopLag {
  meanMs: number;
  p99Ms: number;
  maxMs: number;
}

export interface Thresholds {
  /** Process CPU, in % of one core. */
  cpuPercent: number;
  /** Event-loop lag, p99 over the interval, in ms. */
  lagMs: number;
  /** Resident set size, in MiB. */
  rssMb: number;
}

export interface Alert {
  metric: 'cpu' | 'lag' | 'rss';
  value: number;
  limit: number;
  message: string;
}

/** What every subscriber gets each interval (and late joiners as history). */
export interface Sample {
  /** Wall clock of the reading, ms since the epoch. */
  time: number;
  node: string;
  /** Measured length of the interval this sample covers, in ms. */
  intervalMs: number;
  cpu: { process: number; system: number; cores: number };
  memory: { rss: number; heapUsed: number; heapTotal: number; systemFree: number; systemTotal: number };
  lag: LoopLag;
  connections: number;
  channels: number;
  /** Frames per second over the interval, received (in) and sent (out) by this node. */
  rates: { messagesIn: number; messagesOut: number };
  alerts: Alert[];
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
export const MiB = 1024 * 1024;

/**
 * CPU used by the process between two readings, in % of one core (like `top`): CPU time spent
 * (user + system) over wall time elapsed. Several threads can take it past 100.
 */
export function processCpuPercent(prev: Reading['cpu'], cur: Reading['cpu'], elapsedUs: number): number {
  if (elapsedUs <= 0) return 0;
  const used = cur.user - prev.user + (cur.system - prev.system);
  return round(Math.max(0, (used / elapsedUs) * 100));
}

/** The machine's CPU use between two readings, in % of all cores: busy time over total time. */
export function systemCpuPercent(prev: Reading['machine'], cur: Reading['machine']): number {
  const total = cur.total - prev.total;
  if (total <= 0) return 0;
  return round(Math.min(100, Math.max(0, ((cur.busy - prev.busy) / total) * 100)));
}

/** Per-second rate of a counter between two readings. */
export function ratePerSecond(prev: number, cur: number, elapsedUs: number): number {
  if (elapsedUs <= 0) return 0;
  return round(Math.max(0, cur - prev) / (elapsedUs / 1e6));
}

/** Sums os.cpus() times: busy is everything but idle. */
export function machineTimes(cpus: Array<{ times: { user: number; nice: number; sys: number; idle: number; irq: number } }>): Reading['machine'] {
  let busy = 0;
  let total = 0;
  for (const { times: t } of cpus) {
    const b = t.user + t.nice + t.sys + t.irq;
    busy += b;
    total += b + t.idle;
  }
  return { busy, total };
}

/** The alerts a sample raises: computed on the server so every viewer sees the same ones. */
export function evaluateAlerts(s: Pick<Sample, 'cpu' | 'lag' | 'memory'>, t: Thresholds): Alert[] {
  const alerts: Alert[] = [];
  if (s.cpu.process >= t.cpuPercent) {
    alerts.push({ metric: 'cpu', value: s.cpu.process, limit: t.cpuPercent, message: `Process CPU ${s.cpu.process}% ≥ ${t.cpuPercent}%` });
  }
  if (s.lag.p99Ms >= t.lagMs) {
    alerts.push({ metric: 'lag', value: s.lag.p99Ms, limit: t.lagMs, message: `Event-loop lag p99 ${s.lag.p99Ms} ms ≥ ${t.lagMs} ms` });
  }
  const rssMb = round(s.memory.rss / MiB);
  if (rssMb >= t.rssMb) {
    alerts.push({ metric: 'rss', value: rssMb, limit: t.rssMb, message: `RSS ${rssMb} MiB ≥ ${t.rssMb} MiB` });
  }
  return alerts;
}

/** Builds the sample covering the interval between two readings. */
export function computeSample(prev: Reading, cur: Reading, lag: LoopLag, node: string, cores: number, thresholds: Thresholds): Sample {
  const elapsedUs = cur.timeUs - prev.timeUs;
  const base = {
    time: cur.wallMs,
    node,
    intervalMs: round(elapsedUs / 1000),
    cpu: { process: processCpuPercent(prev.cpu, cur.cpu, elapsedUs), system: systemCpuPercent(prev.machine, cur.machine), cores },
    memory: { ...cur.memory, systemFree: cur.system.free, systemTotal: cur.system.total },
    lag,
    connections: cur.counts.connections,
    channels: cur.counts.channels,
    rates: {
      messagesIn: ratePerSecond(prev.counts.messagesIn, cur.counts.messagesIn, elapsedUs),
      messagesOut: ratePerSecond(prev.counts.messagesOut, cur.counts.messagesOut, elapsedUs),
    },
  };
  return { ...base, alerts: evaluateAlerts(base, thresholds) };
}

/**
 * Event-loop lag from monitorEventLoopDelay's histogram. Each recorded value is the time
 * between two firings of a `resolutionMs` timer, so the lag is what exceeds the resolution.
 */
export function lagFromHistogram(h: Pick<IntervalHistogram, 'mean' | 'max' | 'count' | 'percentile'>, resolutionMs: number): LoopLag {
  if (h.count === 0) return { meanMs: 0, p99Ms: 0, maxMs: 0 };
  const lag = (ns: number) => round(Math.max(0, ns / 1e6 - resolutionMs));
  return { meanMs: lag(h.mean), p99Ms: lag(h.percentile(99)), maxMs: lag(h.max) };
}

/** Where the sampler gets its numbers: Node and the socket service by default. */
export interface Sources {
  counts(): Reading['counts'];
  /** Overridable for tests; default process/os. */
  read?(): Omit<Reading, 'counts'>;
}

/** The sampler's counts from a node's `Sockets` (this node only). */
export function socketCounts(sockets: Pick<Sockets, 'counts'>): Reading['counts'] {
  const { connections, channels, messagesIn, messagesOut } = sockets.counts();
  return { connections, channels, messagesIn, messagesOut };
}

function readProcess(): Omit<Reading, 'counts'> {
  const mem = process.memoryUsage();
  return {
    timeUs: Number(process.hrtime.bigint() / 1000n),
    wallMs: Date.now(),
    cpu: process.cpuUsage(),
    machine: machineTimes(os.cpus()),
    memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal },
    system: { free: os.freemem(), total: os.totalmem() },
  };
}

export interface SamplerOptions {
  node: string;
  intervalMs: number;
  /** Samples kept for late joiners. */
  historySize: number;
  thresholds: Thresholds;
  sources: Sources;
  /** Called with each new sample; return false to stop sampling (nobody is watching any more). */
  onSample(sample: Sample): boolean | void;
}

const lagResolutionMs = 10;

/**
 * Samples every `intervalMs` between start() and stop(). The event-loop histogram is enabled
 * only while sampling, so an unwatched monitor costs nothing. Keeps the last `historySize`
 * samples in memory: they describe this process, so they are per node, not shared state.
 */
export class MetricsSampler {
  private timer?: NodeJS.Timeout;
  private prev?: Reading;
  private readonly loop = monitorEventLoopDelay({ resolution: lagResolutionMs });
  private readonly samples: Sample[] = [];
  private readonly cores = Math.max(1, os.cpus().length);
  /** How many samples were ever taken (tests and status). */
  taken = 0;

  constructor(private readonly o: SamplerOptions) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Oldest first, at most `historySize`. */
  history(): Sample[] {
    return [...this.samples];
  }

  start(): void {
    if (this.timer) return;
    this.prev = this.read();
    this.loop.reset();
    this.loop.enable();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.loop.disable();
    this.prev = undefined;
  }

  private read(): Reading {
    return { ...(this.o.sources.read ?? readProcess)(), counts: this.o.sources.counts() };
  }

  private tick(): void {
    const cur = this.read();
    const lag = lagFromHistogram(this.loop, lagResolutionMs);
    this.loop.reset();
    const sample = computeSample(this.prev!, cur, lag, this.o.node, this.cores, this.o.thresholds);
    this.prev = cur;
    this.taken++;
    this.samples.push(sample);
    if (this.samples.length > this.o.historySize) this.samples.splice(0, this.samples.length - this.o.historySize);
    if (this.o.onSample(sample) === false) this.stop();
  }
}
