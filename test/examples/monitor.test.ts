import { expect } from 'chai';
import {
  computeSample,
  evaluateAlerts,
  lagFromHistogram,
  machineTimes,
  MetricsSampler,
  MiB,
  processCpuPercent,
  ratePerSecond,
  systemCpuPercent,
  type Reading,
  type Sample,
} from '../../server/features/monitor/metrics';
import { ConfigError, loadConfig, resolveConfig } from '../../server/config';
import { closeAll, connect, eventually, sleep, startApp, type Frame, type TestApp } from '../helpers';

const thresholds = { cpuPercent: 80, lagMs: 100, rssMb: 1024 };

/** A made-up reading `seconds` after the start, with the given counters. */
function reading(seconds: number, over: Partial<Reading> = {}): Reading {
  return {
    timeUs: seconds * 1e6,
    wallMs: 1_700_000_000_000 + seconds * 1000,
    cpu: { user: 0, system: 0 },
    machine: { busy: 0, total: 0 },
    memory: { rss: 100 * MiB, heapUsed: 20 * MiB, heapTotal: 40 * MiB },
    system: { free: 4096 * MiB, total: 8192 * MiB },
    counts: { connections: 1, channels: 1, messagesIn: 0, messagesOut: 0 },
    ...over,
  };
}

describe('monitor sampler math', () => {
  it('process CPU %: CPU time used over wall time, in % of one core', () => {
    expect(processCpuPercent({ user: 1000, system: 500 }, { user: 251_000, system: 250_500 }, 1e6)).to.equal(50);
    expect(processCpuPercent({ user: 0, system: 0 }, { user: 1_200_000, system: 300_000 }, 1e6)).to.equal(150); // two threads busy
    expect(processCpuPercent({ user: 0, system: 0 }, { user: 123, system: 0 }, 0)).to.equal(0);
    expect(processCpuPercent({ user: 0, system: 0 }, { user: 333, system: 0 }, 1e6)).to.equal(0);
    expect(processCpuPercent({ user: 0, system: 0 }, { user: 12_345, system: 0 }, 1e5)).to.equal(12.3);
  });

  it('system CPU %: busy over total of all cores, from os.cpus() deltas', () => {
    const t = (user: number, sys: number, idle: number) => ({ times: { user, nice: 0, sys, idle, irq: 0 } });
    const before = machineTimes([t(100, 50, 850), t(200, 0, 800)]);
    expect(before).to.deep.equal({ busy: 350, total: 2000 });
    const after = machineTimes([t(400, 50, 1050), t(300, 100, 1100)]); // +300+0 / +100+100 busy; +200 / +300 idle
    expect(systemCpuPercent(before, after)).to.equal(50);
    expect(systemCpuPercent(after, after)).to.equal(0);
  });

  it('rates per second from counter deltas; a counter that went back counts as 0', () => {
    expect(ratePerSecond(100, 200, 500_000)).to.equal(200);
    expect(ratePerSecond(10, 13, 1e6)).to.equal(3);
    expect(ratePerSecond(50, 10, 1e6)).to.equal(0);
    expect(ratePerSecond(0, 10, 0)).to.equal(0);
  });

  it('event-loop lag: what exceeds the histogram timer resolution, in ms', () => {
    const h = { count: 10, mean: 12.5e6, max: 210e6, percentile: (p: number) => (p === 99 ? 60e6 : 0) };
    expect(lagFromHistogram(h, 10)).to.deep.equal({ meanMs: 2.5, p99Ms: 50, maxMs: 200 });
    expect(lagFromHistogram({ ...h, mean: 9.9e6, max: 10e6, percentile: () => 9e6 }, 10)).to.deep.equal({ meanMs: 0, p99Ms: 0, maxMs: 0 });
    expect(lagFromHistogram({ ...h, count: 0 }, 10)).to.deep.equal({ meanMs: 0, p99Ms: 0, maxMs: 0 });
  });

  it('alerts fire at or above each threshold, with the value and the limit', () => {
    const ok = { cpu: { process: 79.9, system: 99, cores: 4 }, lag: { meanMs: 1, p99Ms: 99.9, maxMs: 500 }, memory: { rss: 1023 * MiB, heapUsed: 0, heapTotal: 0, systemFree: 0, systemTotal: 0 } };
    expect(evaluateAlerts(ok, thresholds)).to.deep.equal([]);
    const bad = { ...ok, cpu: { ...ok.cpu, process: 80 }, lag: { ...ok.lag, p99Ms: 250 }, memory: { ...ok.memory, rss: 2048 * MiB } };
    expect(evaluateAlerts(bad, thresholds)).to.deep.equal([
      { metric: 'cpu', value: 80, limit: 80, message: 'Process CPU 80% ≥ 80%' },
      { metric: 'lag', value: 250, limit: 100, message: 'Event-loop lag p99 250 ms ≥ 100 ms' },
      { metric: 'rss', value: 2048, limit: 1024, message: 'RSS 2048 MiB ≥ 1024 MiB' },
    ]);
  });

  it('a sample covers the interval between two readings', () => {
    const prev = reading(10, { cpu: { user: 1e6, system: 0 }, machine: { busy: 100, total: 1000 }, counts: { connections: 2, channels: 1, messagesIn: 1000, messagesOut: 5000 } });
    const cur = reading(12, {
      cpu: { user: 1.5e6, system: 0.5e6 },
      machine: { busy: 400, total: 2000 },
      counts: { connections: 3, channels: 2, messagesIn: 1600, messagesOut: 5010 },
    });
    const s = computeSample(prev, cur, { meanMs: 1, p99Ms: 2, maxMs: 3 }, 'n1', 4, { ...thresholds, cpuPercent: 50 });
    expect(s).to.deep.equal({
      time: cur.wallMs,
      node: 'n1',
      intervalMs: 2000,
      cpu: { process: 50, system: 30, cores: 4 },
      memory: { rss: 100 * MiB, heapUsed: 20 * MiB, heapTotal: 40 * MiB, systemFree: 4096 * MiB, systemTotal: 8192 * MiB },
      lag: { meanMs: 1, p99Ms: 2, maxMs: 3 },
      connections: 3,
      channels: 2,
      rates: { messagesIn: 300, messagesOut: 5 },
      alerts: [{ metric: 'cpu', value: 50, limit: 50, message: 'Process CPU 50% ≥ 50%' }],
    });
  });

  it('MetricsSampler samples only between start and stop, keeps a bounded history, stops when told', async () => {
    let n = 0;
    const seen: Sample[] = [];
    let keepGoing = true;
    const sampler = new MetricsSampler({
      node: 'n',
      intervalMs: 10,
      historySize: 3,
      thresholds,
      sources: {
        // Each reading: one more second, 100 more frames in.
        read: () => {
          const r = reading(++n);
          return { timeUs: r.timeUs, wallMs: r.wallMs, cpu: r.cpu, machine: r.machine, memory: r.memory, system: r.system };
        },
        counts: () => ({ connections: 1, channels: 1, messagesIn: n * 100, messagesOut: 0 }),
      },
      onSample: (s) => {
        seen.push(s);
        return keepGoing;
      },
    });
    await sleep(40);
    expect(n).to.equal(0); // not started: nothing read
    sampler.start();
    await eventually(() => expect(seen.length).to.be.at.least(5), 2000);
    expect(seen.every((s) => s.rates.messagesIn === 100 && s.intervalMs === 1000)).to.equal(true);
    expect(sampler.history()).to.have.length(3);
    expect(sampler.history()).to.deep.equal(seen.slice(-3));
    keepGoing = false;
    await eventually(() => expect(sampler.running).to.equal(false));
    const count = seen.length;
    await sleep(50);
    expect(seen.length).to.equal(count);
    sampler.stop(); // idempotent
  });
});

describe('monitor configuration', () => {
  it('reads the thresholds and sampling from MONITOR_* variables, with defaults; refuses bad values', () => {
    expect(loadConfig({}).monitor).to.deep.equal({ intervalMs: 1000, historySize: 60, cpuAlertPercent: 80, lagAlertMs: 100, rssAlertMb: 1024 });
    const env = { MONITOR_INTERVAL_MS: '500', MONITOR_HISTORY: '120', MONITOR_CPU_ALERT_PERCENT: '150', MONITOR_LAG_ALERT_MS: '20.5', MONITOR_RSS_ALERT_MB: '512' };
    expect(loadConfig(env).monitor).to.deep.equal({ intervalMs: 500, historySize: 120, cpuAlertPercent: 150, lagAlertMs: 20.5, rssAlertMb: 512 });
    expect(() => loadConfig({ MONITOR_INTERVAL_MS: '10' })).to.throw(ConfigError, /MONITOR_INTERVAL_MS/);
    expect(() => loadConfig({ MONITOR_RSS_ALERT_MB: 'lots' })).to.throw(ConfigError, /MONITOR_RSS_ALERT_MB/);
    // createApp options merge field by field.
    expect(resolveConfig({ monitor: { rssAlertMb: 1 } }).monitor).to.include({ rssAlertMb: 1, cpuAlertPercent: 80, intervalMs: 1000 });
  });
});

describe('monitor over WebSocket', () => {
  let t: TestApp;
  const intervalMs = 200;
  const monitorUrl = () => t.url('/examples/monitor/socket');
  const samples = (c: { frames: Frame[] }) => c.frames.filter((f) => f.cmd === 'sample').map((f) => f.param as Sample);

  afterEach(closeAll);

  it('pushes real, changing samples every interval to subscribers; messages/s rises when a client floods', async () => {
    t = await startApp({ monitor: { intervalMs } });
    const watcher = await connect(monitorUrl());
    const hello = (await watcher.request('', 'hello')).param;
    expect(hello).to.deep.include({ node: t.app.sockets!.node, intervalMs, historySize: 60 });
    expect(hello.history).to.deep.equal([]); // nobody watched before: nothing was sampled
    await eventually(() => expect(samples(watcher).length).to.be.at.least(3), 3000);
    const quiet = samples(watcher).at(-1)!;
    expect(quiet.node).to.equal(t.app.sockets!.node);
    expect(quiet.intervalMs).to.be.within(intervalMs * 0.8, intervalMs * 2.5);
    expect(quiet.memory.rss).to.be.above(10 * MiB);
    expect(quiet.memory.heapUsed).to.be.above(0).and.below(quiet.memory.heapTotal);
    expect(quiet.memory.systemTotal).to.be.above(quiet.memory.systemFree);
    expect(quiet.cpu.cores).to.be.at.least(1);
    expect(quiet.connections).to.equal(1);
    expect(quiet.rates.messagesIn).to.be.below(20);

    // Other clients flood the example route with pings (within each one's rate-limit burst): the next samples show it.
    const flooders = await Promise.all([1, 2, 3].map(() => connect(t.url('/example/socket?ch=flood'))));
    const start = samples(watcher).length;
    for (const f of flooders) for (let i = 0; i < 90; i++) f.send({ channel: 'flood', cmd: 'ping', param: {} });
    await eventually(() => expect(samples(watcher).slice(start).some((s) => s.rates.messagesIn >= 250)).to.equal(true), 3000);
    const busy = samples(watcher).slice(start);
    expect(busy.some((s) => s.connections === 4)).to.equal(true);
    expect(busy.some((s) => s.rates.messagesOut >= 300)).to.equal(true); // each ping answers a pong
    expect(busy.some((s) => s.cpu.process > 0)).to.equal(true);
    // Values change from sample to sample (real measurements, not constants).
    expect(new Set(samples(watcher).map((s) => s.memory.heapUsed)).size).to.be.above(1);
    // Timestamps are one interval apart.
    const times = samples(watcher).map((s) => s.time);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.be.within(intervalMs * 0.5, intervalMs * 3);
  });

  it('samples nothing while nobody watches; a late joiner gets the recent history', async () => {
    t = await startApp({ monitor: { intervalMs, historySize: 5 } });
    await sleep(intervalMs * 3);
    const a = await connect(monitorUrl());
    expect((await a.request('', 'hello')).param.history).to.deep.equal([]);
    await eventually(() => expect(samples(a).length).to.be.at.least(6), 4000);
    // A late joiner: the last 5 samples, the same the first watcher got.
    const b = await connect(monitorUrl());
    const { history } = (await b.request('', 'hello')).param as { history: Sample[] };
    expect(history).to.have.length(5);
    const seen = new Map(samples(a).map((s) => [s.time, s]));
    for (const s of history) expect(seen.get(s.time)).to.deep.equal(s);
    await b.next({ cmd: 'sample' }, 2000);

    // Everyone leaves: sampling stops. Come back after a gap: the history has a hole of that size.
    await Promise.all([a.close(), b.close()]);
    const left = Date.now();
    await sleep(intervalMs * 5);
    const c = await connect(monitorUrl());
    const before = (await c.request('', 'hello')).param.history as Sample[];
    expect(before.at(-1)!.time).to.be.at.most(left + intervalMs);
    const next = (await c.next({ cmd: 'sample' }, 2000)).param as Sample;
    expect(next.time - before.at(-1)!.time).to.be.at.least(intervalMs * 5);
  });

  it('a leave of the monitor channel stops the sampling too (checked each tick)', async () => {
    t = await startApp({ monitor: { intervalMs } });
    const a = await connect(monitorUrl());
    await a.next({ cmd: 'sample' }, 2000);
    const channel = `monitor:${t.app.sockets!.node}`;
    expect((await a.request(channel, 'leave')).cmd).to.equal('reply');
    await sleep(intervalMs * 2);
    const from = a.frames.length;
    await sleep(intervalMs * 3);
    expect(a.since(from, { cmd: 'sample' })).to.deep.equal([]);
    // Joining again and saying hello restarts it.
    await a.request(channel, 'join');
    await a.request('', 'hello');
    await a.next({ cmd: 'sample' }, 2000);
  });

  it('the alert is computed on the server and sent in the sample', async () => {
    t = await startApp({ monitor: { intervalMs, rssAlertMb: 1 } });
    const [a, b] = await Promise.all([connect(monitorUrl()), connect(monitorUrl())]);
    const [sa, sb] = await Promise.all([a.next({ cmd: 'sample' }, 2000), b.next({ cmd: 'sample' }, 2000)]);
    expect(sa.param).to.deep.equal(sb.param); // one sample, the same for every viewer
    const alert = (sa.param as Sample).alerts.find((x) => x.metric === 'rss')!;
    expect(alert).to.include({ metric: 'rss', limit: 1 });
    expect(alert.value).to.be.above(1);
    expect(alert.message).to.match(/^RSS [\d.]+ MiB ≥ 1 MiB$/);
    expect((await a.request('', 'hello')).param.thresholds).to.deep.equal({ cpuPercent: 80, lagMs: 100, rssMb: 1 });
  });
});
