/**
 * `npm run bench [-- options]`: wsforge side by side with a naive raw `ws` broadcast server and
 * Socket.IO 4 (issue 7). Each server runs in its own process, driven by one load-generator
 * process (bench/load.ts); server CPU is the server's own process.cpuUsage(), read over IPC
 * just before and after each measured phase. Writes bench/results.{md,json}.
 *
 *   --quick              smaller counts, under a minute (writes bench/results-quick.*)
 *   --servers=a,b        subset of wsforge,raw-ws,socketio
 *   --scenarios=a,b      subset of fanout,latency,channels (channels also gives idle and connect)
 *   --rounds=N           measured rounds of fan-out / many-channels (median reported)
 *   --no-pin             do not pin servers and load generator to separate CPUs
 *   --cpu-prof           run the servers with --cpu-prof (profiles land in bench/*.cpuprofile)
 *   --out=NAME           write bench/NAME.md and bench/NAME.json
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  barrier,
  closeTopology,
  measureConnect,
  measureLatency,
  measureRound,
  median,
  memory,
  pinning,
  serverKinds,
  startLoad,
  startServer,
  waitForConnections,
  type ConnectMeasure,
  type LatencyMeasure,
  type LoadProcess,
  type RoundMeasure,
  type ServerKind,
  type ServerProcess,
  type StartOptions,
} from './lib/drive';
import { fileLimits, repoRoot } from './lib/ipc';

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  strict: true,
});

const allScenarios = ['fanout', 'latency', 'channels'] as const;
const list = <T extends string>(arg: string | undefined, all: readonly T[], what: string): T[] => {
  if (!arg) return [...all];
  const xs = arg.split(',').map((s) => s.trim()) as T[];
  for (const x of xs) if (!all.includes(x)) throw new Error(`--${what}: unknown "${x}" (one of ${all.join(', ')})`);
  return all.filter((x) => xs.includes(x));
};
const servers = list(argv.servers, serverKinds, 'servers');
const scenarios = list(argv.scenarios, allScenarios, 'scenarios');
const quick = argv.quick;
const partial = servers.length < serverKinds.length || scenarios.length < allScenarios.length;
const outName = argv.out ?? (quick || partial ? 'results-quick' : 'results');

/** Every size of the run: what results.md reports as "the exact scenario sizes". */
const sizes = {
  payloadBytes: 256,
  fanout: {
    subscribers: 1000,
    /** Publishes per measured round. */
    messages: quick ? 300 : 1500,
    rounds: Number(argv.rounds ?? (quick ? 2 : 4)),
    /** Publishes of the unmeasured warm-up round (JIT, buffers). */
    warmupMessages: quick ? 200 : 500,
    /** Deliveries in flight at most: 64 messages × 1,001 recipients. */
    windowDeliveries: 64 * 1001,
    /** A round publishes until `messages` or this, whichever first, then waits for its deliveries. */
    capMs: quick ? 8_000 : 30_000,
    drainMs: 20_000,
  },
  latency: {
    subscribers: 1000,
    ratePerSecond: 100,
    messages: quick ? 200 : 1000,
  },
  channels: {
    groups: quick ? 200 : 1000,
    perGroup: 10,
    messages: quick ? 5000 : 30_000,
    rounds: Number(argv.rounds ?? (quick ? 2 : 3)),
    warmupMessages: quick ? 1000 : 5000,
    windowDeliveries: 20_000,
    capMs: quick ? 8_000 : 30_000,
    drainMs: 20_000,
    /** Handshakes in flight while connecting (scenario e). */
    concurrency: 100,
    /**
     * Connections opened and closed before the memory baseline, so lazy init and optimized code
     * (also on the heap) are not billed to (d) or (e): with 200, code compiled while the 10,000
     * connected still showed as some 50 bytes per connection.
     */
    warmupConnections: 1000,
  },
};

// ---------------------------------------------------------------- environment

const limits = fileLimits();
const fdNeeded = Math.max(scenarios.includes('channels') ? sizes.channels.groups * sizes.channels.perGroup : 0, (sizes.fanout.subscribers + 1) * servers.length) + 256;
let fdNote = `open-file limit ${limits.soft} (hard ${limits.hard}); needed ≈ ${fdNeeded} per process`;
let fdLimit: number | undefined;
if (limits.soft < fdNeeded) {
  if (limits.hard >= fdNeeded) {
    fdLimit = fdNeeded;
    fdNote += `; children started with ulimit -n ${fdNeeded}`;
  } else {
    const groups = Math.floor((limits.hard - 256) / sizes.channels.perGroup / 100) * 100;
    fdNote += `; cannot be raised: many-channels/idle/connect SCALED DOWN from ${sizes.channels.groups * sizes.channels.perGroup} to ${groups * sizes.channels.perGroup} connections`;
    sizes.channels.groups = groups;
    fdLimit = limits.hard;
  }
}
const pins = pinning(!argv['no-pin']);
const startOpts = (cpus?: string, extra: string[] = []): StartOptions => ({ cpus, fdLimit, nodeFlags: extra });
const serverFlags = argv['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=bench'] : [];

const versionOf = (pkg: string) => (JSON.parse(readFileSync(`${repoRoot}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
const meta = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  machine: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
  node: process.version,
  versions: { ws: versionOf('ws'), 'socket.io': versionOf('socket.io'), 'engine.io': versionOf('engine.io'), bufferutil: versionOf('bufferutil') },
  bufferutil: {} as Partial<Record<ServerKind, boolean>>,
  pinning: pins.server ? `servers on CPU ${pins.server}, load generator on CPU ${pins.load} (taskset)` : 'none',
  files: fdNote,
  git: gitDescribe(),
  servers,
  scenarios,
};

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'server'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes in server/' : ''}`;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- results

interface FanoutResult {
  rounds: RoundMeasure[];
  cpuUsPerDelivery: number;
  cpuUsPerDeliveryMin: number;
  cpuUsPerDeliveryMax: number;
  deliveriesPerSecond: number;
  serverCpuShare: number;
  loadCpuShare: number;
  otherCores: number;
  bytesPerDelivery: number;
  /** Rounds that hit the time cap and published fewer messages (still measured, over fewer deliveries). */
  cappedRounds: number;
}
interface IdleResult {
  connections: number;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  externalBytesPerConnection: number;
  before: { rss: number; heapUsed: number; external: number };
  after: { rss: number; heapUsed: number; external: number };
}
type PerServer<T> = Partial<Record<ServerKind, T | { error: string }>>;
const results = {
  fanout: {} as PerServer<FanoutResult>,
  latency: {} as PerServer<LatencyMeasure>,
  channels: {} as PerServer<FanoutResult>,
  idle: {} as PerServer<IdleResult>,
  connect: {} as PerServer<ConnectMeasure>,
};
/** Connecting the fan-out topology (one channel of 1,001): not a scenario, but it shows join/presence cost. */
const setup: Partial<Record<ServerKind, { connectMs: number; serverCpuUs: number; drainedMs: number }>> = {};
const errors: string[] = [];
const warnings: string[] = [];
const failed = (what: string, kind: ServerKind, err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  errors.push(`${what} / ${kind}: ${msg}`);
  log(`  ✗ ${what} ${kind}: ${msg}`);
  return { error: msg.split('\n')[0]! };
};

function summarize(rounds: RoundMeasure[]): FanoutResult {
  const cpu = rounds.map((r) => r.cpuUsPerDelivery);
  return {
    rounds,
    cpuUsPerDelivery: median(cpu),
    cpuUsPerDeliveryMin: Math.min(...cpu),
    cpuUsPerDeliveryMax: Math.max(...cpu),
    deliveriesPerSecond: median(rounds.map((r) => r.deliveriesPerSecond)),
    serverCpuShare: median(rounds.map((r) => r.serverCpuShare)),
    loadCpuShare: median(rounds.map((r) => r.loadCpuShare)),
    otherCores: median(rounds.map((r) => r.otherCores)),
    bytesPerDelivery: median(rounds.map((r) => r.bytesPerDelivery)),
    cappedRounds: rounds.filter((r) => r.capped).length,
  };
}

const t0 = Date.now();
function log(s: string): void {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);
}
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

// ---------------------------------------------------------------- phases

/** (a) fan-out and (b) latency: all servers up at once, rounds interleaved so drift hits all alike. */
async function fanoutPhase(load: LoadProcess): Promise<void> {
  const started: ServerProcess[] = [];
  const up = new Map<ServerKind, ServerProcess>();
  const G = sizes.fanout.subscribers + 1;
  try {
    for (const kind of servers) {
      try {
        const s = await startServer(kind, startOpts(pins.server, serverFlags));
        started.push(s);
        meta.bufferutil[kind] = s.ready.bufferutil;
        const c = await measureConnect(load, s, { key: `fan-${kind}`, kind, groups: 1, perGroup: G, concurrency: 100, timeoutMs: 120_000, prefix: 'fanout' });
        await waitForConnections(s, G, 30_000);
        const drained = await barrier(load, `fan-${kind}`, 60_000);
        up.set(kind, s);
        setup[kind] = { connectMs: c.wallMs, serverCpuUs: c.serverCpuUs, drainedMs: drained.ms };
        log(`fan-out: ${kind} up (pid ${s.pid}, port ${s.ready.port}): 1 publisher + ${sizes.fanout.subscribers} subscribers connected in ${f(c.wallMs / 1000)} s (server CPU ${f(c.serverCpuUs / 1e6)} s), setup traffic drained ${f(drained.ms / 1000)} s later`);
      } catch (err) {
        results.fanout[kind] = failed('fan-out setup', kind, err);
        if (scenarios.includes('latency')) results.latency[kind] = results.fanout[kind] as { error: string };
      }
    }
    const fo = sizes.fanout;
    const roundOf = (kind: ServerKind, messages: number) =>
      measureRound(load, up.get(kind)!, { key: `fan-${kind}`, messages, windowDeliveries: fo.windowDeliveries, payloadBytes: sizes.payloadBytes, capMs: fo.capMs, drainMs: fo.drainMs });
    if (scenarios.includes('fanout')) {
      const rounds = new Map<ServerKind, RoundMeasure[]>([...up.keys()].map((k) => [k, []]));
      for (const kind of up.keys()) {
        try {
          await roundOf(kind, fo.warmupMessages);
        } catch (err) {
          rounds.delete(kind);
          results.fanout[kind] = failed('fan-out warm-up', kind, err);
        }
      }
      for (let r = 1; r <= fo.rounds; r++) {
        // Rotate the order each round so no server always runs right after the same other one.
        const order = [...rounds.keys()];
        for (let i = 0; i < (r - 1) % Math.max(1, order.length); i++) order.push(order.shift()!);
        for (const kind of order) {
          const rs = rounds.get(kind);
          if (!rs) continue;
          try {
            const m = await roundOf(kind, fo.messages);
            rs.push(m);
            log(`fan-out round ${r}/${fo.rounds} ${kind.padEnd(8)} ${f(m.cpuUsPerDelivery, 3)} µs/delivery (${f((m.serverSystemUs / m.serverCpuUs) * 100, 0)}% system), ${f(m.deliveriesPerSecond / 1000, 0)}k deliveries/s, server CPU ${f(m.serverCpuShare * 100, 0)}%, load CPU ${f(m.loadCpuShare * 100, 0)}%, other ${f(m.otherCores, 2)} cores${m.capped ? ` (capped: ${m.sent}/${m.requested} publishes)` : ''}`);
          } catch (err) {
            rounds.delete(kind);
            results.fanout[kind] = failed('fan-out', kind, err);
          }
        }
      }
      for (const [kind, rs] of rounds) results.fanout[kind] = summarize(rs);
    }
    if (scenarios.includes('latency')) {
      const la = sizes.latency;
      for (const kind of up.keys()) {
        try {
          const r = await measureLatency(load, up.get(kind)!, { key: `fan-${kind}`, messages: la.messages, ratePerSecond: la.ratePerSecond, payloadBytes: sizes.payloadBytes, capMs: (la.messages / la.ratePerSecond) * 1000 + 15_000 });
          if (r.capped) throw new Error(`latency run ended with ${r.received}/${r.expected} deliveries`);
          results.latency[kind] = r;
          log(`latency ${kind.padEnd(8)} p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, max ${f(r.max)} ms (${r.samples} samples), server CPU ${f(r.serverCpuShare * 100, 0)}%, other ${f(r.otherCores, 2)} cores`);
        } catch (err) {
          results.latency[kind] = failed('latency', kind, err);
        }
      }
    }
  } finally {
    for (const kind of servers) await closeTopology(load, `fan-${kind}`).catch(() => {});
    await Promise.all(started.map((s) => s.stop()));
  }
}

/** (e) connection rate, (d) idle memory, (c) many channels: one fresh server at a time. */
async function channelsPhase(load: LoadProcess, kind: ServerKind): Promise<void> {
  const c = sizes.channels;
  const n = c.groups * c.perGroup;
  const key = `ch-${kind}`;
  const server = await startServer(kind, startOpts(pins.server, serverFlags));
  meta.bufferutil[kind] = server.ready.bufferutil;
  try {
    // Warm-up: open and close a few connections so lazy init and JIT are not billed to (d) or (e).
    const warm = Math.min(c.warmupConnections, n);
    await measureConnect(load, server, { key: `${key}-warm`, kind, groups: warm / c.perGroup, perGroup: c.perGroup, concurrency: c.concurrency, timeoutMs: 30_000, prefix: 'warm' });
    await closeTopology(load, `${key}-warm`);
    await waitForConnections(server, 0, 15_000);
    const before = await memory(server);

    const conn = await measureConnect(load, server, { key, kind, groups: c.groups, perGroup: c.perGroup, concurrency: c.concurrency, timeoutMs: 120_000, prefix: 'c' });
    results.connect[kind] = conn;
    log(`connect ${kind.padEnd(8)} ${n} connections in ${f(conn.wallMs / 1000)} s: ${f(conn.perSecond, 0)}/s, server ${f(conn.serverCpuUsPerConnection, 1)} µs CPU per connection`);
    await waitForConnections(server, n, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let presence traffic and timers settle
    const after = await memory(server);
    const per = (k: 'rss' | 'heapUsed' | 'external') => (after[k] - before[k]) / n;
    const idle: IdleResult = {
      connections: n,
      rssBytesPerConnection: per('rss'),
      heapBytesPerConnection: per('heapUsed'),
      externalBytesPerConnection: per('external'),
      before: { rss: before.rss, heapUsed: before.heapUsed, external: before.external },
      after: { rss: after.rss, heapUsed: after.heapUsed, external: after.external },
    };
    results.idle[kind] = idle;
    log(`idle    ${kind.padEnd(8)} ${f(idle.rssBytesPerConnection / 1024, 1)} KiB RSS, ${f(idle.heapBytesPerConnection / 1024, 1)} KiB heap per connection`);

    await barrier(load, key, 60_000);
    const roundOf = (messages: number) => measureRound(load, server, { key, messages, windowDeliveries: c.windowDeliveries, payloadBytes: sizes.payloadBytes, capMs: c.capMs, drainMs: c.drainMs });
    await roundOf(c.warmupMessages);
    const rounds: RoundMeasure[] = [];
    for (let r = 1; r <= c.rounds; r++) {
      const m = await roundOf(c.messages);
      log(`channels round ${r}/${c.rounds} ${kind.padEnd(8)} ${f(m.cpuUsPerDelivery, 3)} µs/delivery (${f((m.serverSystemUs / m.serverCpuUs) * 100, 0)}% system), ${f(m.deliveriesPerSecond / 1000, 0)}k deliveries/s, server CPU ${f(m.serverCpuShare * 100, 0)}%, load CPU ${f(m.loadCpuShare * 100, 0)}%, other ${f(m.otherCores, 2)} cores${m.capped ? ` (capped: ${m.sent}/${m.requested} publishes)` : ''}`);
      rounds.push(m);
    }
    results.channels[kind] = summarize(rounds);
  } finally {
    await closeTopology(load, key).catch(() => {});
    await server.stop();
  }
}

// ---------------------------------------------------------------- report

type Better = 'lower' | 'higher';
interface Row {
  scenario: string;
  metric: string;
  better: Better;
  values: Partial<Record<ServerKind, number>>;
  digits: number;
  note?: Partial<Record<ServerKind, string>>;
  /** Diagnostics (noise, near-zero values) get no ratio. */
  noRatio?: boolean;
}

function ok<T>(r: T | { error: string } | undefined): T | undefined {
  return r && typeof r === 'object' && 'error' in r ? undefined : (r as T | undefined);
}
function rowOf<T>(scenario: string, metric: string, better: Better, digits: number, src: PerServer<T>, pick: (r: T) => number, note?: (r: T) => string): Row {
  const values: Row['values'] = {};
  const notes: Row['note'] = {};
  for (const k of servers) {
    const r = ok(src[k]);
    if (r) {
      values[k] = pick(r);
      if (note) notes[k] = note(r);
    }
  }
  return { scenario, metric, better, values, digits, note: note ? notes : undefined };
}

function buildRows(): Row[] {
  const rows: Row[] = [];
  if (scenarios.includes('fanout')) {
    rows.push(
      rowOf('(a) fan-out', 'server CPU µs per delivery', 'lower', 3, results.fanout, (r) => r.cpuUsPerDelivery, (r) => `${f(r.cpuUsPerDeliveryMin, 3)}–${f(r.cpuUsPerDeliveryMax, 3)}`),
      rowOf('(a) fan-out', 'deliveries per second', 'higher', 0, results.fanout, (r) => r.deliveriesPerSecond),
      rowOf('(a) fan-out', 'server CPU busy, % of one core', 'lower', 0, results.fanout, (r) => r.serverCpuShare * 100),
      rowOf('(a) fan-out', 'load generator CPU busy, %', 'lower', 0, results.fanout, (r) => r.loadCpuShare * 100),
      { ...rowOf('(a) fan-out', 'other processes, cores busy (noise)', 'lower', 2, results.fanout, (r) => r.otherCores), noRatio: true },
      rowOf('(a) fan-out', 'bytes per delivered frame (payload 256)', 'lower', 0, results.fanout, (r) => r.bytesPerDelivery),
    );
  }
  if (Object.keys(setup).length) {
    const src = setup as PerServer<{ connectMs: number; serverCpuUs: number }>;
    rows.push(
      rowOf('(a) setup', `connect 1 + ${sizes.fanout.subscribers} into one channel: wall s`, 'lower', 2, src, (r) => r.connectMs / 1000),
      rowOf('(a) setup', `connect 1 + ${sizes.fanout.subscribers} into one channel: server CPU s`, 'lower', 2, src, (r) => r.serverCpuUs / 1e6),
    );
  }
  if (scenarios.includes('latency')) {
    rows.push(
      rowOf('(b) latency', 'p50 ms', 'lower', 2, results.latency, (r) => r.p50),
      rowOf('(b) latency', 'p99 ms', 'lower', 2, results.latency, (r) => r.p99),
      rowOf('(b) latency', 'max ms', 'lower', 2, results.latency, (r) => r.max),
      rowOf('(b) latency', 'server CPU busy, % of one core', 'lower', 0, results.latency, (r) => r.serverCpuShare * 100),
      { ...rowOf('(b) latency', 'other processes, cores busy (noise)', 'lower', 2, results.latency, (r) => r.otherCores), noRatio: true },
    );
  }
  if (scenarios.includes('channels')) {
    rows.push(
      rowOf('(c) many channels', 'server CPU µs per delivery', 'lower', 3, results.channels, (r) => r.cpuUsPerDelivery, (r) => `${f(r.cpuUsPerDeliveryMin, 3)}–${f(r.cpuUsPerDeliveryMax, 3)}`),
      rowOf('(c) many channels', 'deliveries per second', 'higher', 0, results.channels, (r) => r.deliveriesPerSecond),
      rowOf('(c) many channels', 'server CPU busy, % of one core', 'lower', 0, results.channels, (r) => r.serverCpuShare * 100),
      { ...rowOf('(c) many channels', 'other processes, cores busy (noise)', 'lower', 2, results.channels, (r) => r.otherCores), noRatio: true },
      rowOf('(d) idle', 'RSS bytes per connection', 'lower', 0, results.idle, (r) => r.rssBytesPerConnection),
      rowOf('(d) idle', 'JS heap bytes per connection', 'lower', 0, results.idle, (r) => r.heapBytesPerConnection),
      { ...rowOf('(d) idle', 'external (Buffer) bytes per connection', 'lower', 0, results.idle, (r) => r.externalBytesPerConnection), noRatio: true },
      rowOf('(e) connect', 'connections per second', 'higher', 0, results.connect, (r) => r.perSecond),
      rowOf('(e) connect', 'server CPU µs per connection', 'lower', 1, results.connect, (r) => r.serverCpuUsPerConnection),
    );
  }
  return rows;
}

const ratio = (row: Row, vs: ServerKind): number => {
  const a = row.values.wsforge;
  const b = row.values[vs];
  if (row.noRatio || a === undefined || b === undefined || !(Math.abs(b) >= 1e-3) || a < 0 || b < 0) return NaN;
  return a / b;
};

function targets(rows: Row[]) {
  const find = (scenario: string, metric: string) => rows.find((r) => r.scenario === scenario && r.metric === metric);
  const t: Array<{ target: string; measured: number; limit: number }> = [];
  const cpu = find('(a) fan-out', 'server CPU µs per delivery');
  if (cpu) {
    t.push({ target: '(a) server CPU per delivery ≤ 0.5× raw ws', measured: ratio(cpu, 'raw-ws'), limit: 0.5 });
    t.push({ target: '(a) server CPU per delivery ≤ 0.35× Socket.IO', measured: ratio(cpu, 'socketio'), limit: 0.35 });
  }
  const p99 = find('(b) latency', 'p99 ms');
  if (p99) t.push({ target: '(b) p99 latency ≤ raw ws', measured: ratio(p99, 'raw-ws'), limit: 1 });
  const rss = find('(d) idle', 'RSS bytes per connection');
  const heap = find('(d) idle', 'JS heap bytes per connection');
  if (rss) t.push({ target: '(d) RSS per idle connection ≤ 1.2× raw ws', measured: ratio(rss, 'raw-ws'), limit: 1.2 });
  if (heap) t.push({ target: '(d) heap per idle connection ≤ 1.2× raw ws', measured: ratio(heap, 'raw-ws'), limit: 1.2 });
  return t.map((x) => ({ ...x, met: Number.isFinite(x.measured) ? x.measured <= x.limit : null }));
}

const optimisationsPlaceholder = `## Send-path optimisations

Each step measured with \`npm run bench\` (fan-out, median server CPU µs per delivery) right
before and right after the change, in the same session on this machine.

| step | CPU µs/delivery before → after | raw ws in the same run | notes |
|---|---|---|---|
| serialize once per broadcast | _ → _ | _ | |
| build the frame once, write the same buffer to every socket | _ → _ | _ | |
| batch writes per socket within one event-loop turn (cork/uncork) | _ → _ | _ | |
| no per-recipient allocations or closures on the hot path | _ → _ | _ | |
| release the upgrade request after the handshake | _ → _ | _ | (idle RSS/heap per connection) |
| bufferutil as an optional dependency | _ → _ | _ | |
`;

/** The optimisation log is written by hand: keep whatever results.md already has. */
function keptOptimisations(path: string): string {
  if (!existsSync(path)) return optimisationsPlaceholder;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('## Send-path optimisations');
  if (start < 0) return optimisationsPlaceholder;
  const next = text.indexOf('\n## ', start + 5);
  return text.slice(start, next < 0 ? undefined : next + 1).trimEnd() + '\n';
}

const noiseWarnCores = 0.35;

function cappedNote(src: PerServer<FanoutResult>): string {
  const parts = Object.entries(src).flatMap(([k, r]) => (ok(r)?.cappedRounds ? [`${k} ${ok(r)!.cappedRounds}`] : []));
  return parts.length ? parts.join(', ') : 'none';
}

/** "Other cores busy" of every measured round and latency run. */
function noiseReadings(): number[] {
  const out: number[] = [];
  for (const src of [results.fanout, results.channels]) for (const r of Object.values(src)) for (const m of ok(r)?.rounds ?? []) out.push(m.otherCores);
  for (const r of Object.values(results.latency)) if (ok(r)) out.push(ok(r)!.otherCores);
  return out.filter(Number.isFinite);
}

function markdown(rows: Row[], mdPath: string): string {
  const num = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const rat = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
  const fo = sizes.fanout;
  const la = sizes.latency;
  const c = sizes.channels;
  const lines: string[] = [];
  lines.push(`# Benchmark results (issue 7)`, '');
  lines.push(`Written by \`npm run bench${quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${meta.date}. **${quick ? 'QUICK run: small counts, for a smoke check only' : 'Full run'}.**`, '');
  lines.push(`- machine: ${meta.machine}`);
  lines.push(`- Node ${meta.node}; ws ${meta.versions.ws}, socket.io ${meta.versions['socket.io']} (engine.io ${meta.versions['engine.io']}), bufferutil ${meta.versions.bufferutil} loaded by: ${Object.entries(meta.bufferutil).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}`);
  lines.push(`- wsforge at ${meta.git}`);
  lines.push(`- CPU pinning: ${meta.pinning}; ${meta.files}`);
  const noise = noiseReadings();
  if (noise.length) {
    const worst = Math.max(...noise);
    lines.push(`- other processes during the measured rounds: median ${f(median(noise), 2)}, worst ${f(worst, 2)} cores busy (from /proc/stat, minus the server and the load generator; ≤ 0.05 on an otherwise idle machine)`);
    if (worst > noiseWarnCores) {
      lines.push('', `> **Noisy run**: other processes used up to ${f(worst, 2)} of the ${os.availableParallelism()} cores during measured rounds. CPU per delivery is inflated under contention; compare ratios from the same run (rounds are interleaved across servers), not absolute values across runs.`);
    }
  }
  lines.push('');
  lines.push('## Scenarios (exact sizes of this run)', '');
  lines.push(`Every publish carries a ${sizes.payloadBytes}-character payload (\`#T<send time>#<seq>#xxx…\`). The publisher of a channel is a member of it and gets its own message back, on all three servers, so a publish to a channel of N members is N deliveries. All traffic is on 127.0.0.1.`, '');
  lines.push(`- **(a) fan-out**: 1 publisher + ${fo.subscribers.toLocaleString('en-US')} subscribers in one channel (${(fo.subscribers + 1).toLocaleString('en-US')} deliveries per publish). Warm-up round of ${fo.warmupMessages} publishes, then ${fo.rounds} measured rounds of ${fo.messages.toLocaleString('en-US')} publishes (${(fo.messages * (fo.subscribers + 1)).toLocaleString('en-US')} deliveries) per server, rounds interleaved across servers; at most ${fo.windowDeliveries.toLocaleString('en-US')} deliveries (${Math.round(fo.windowDeliveries / (fo.subscribers + 1))} publishes) in flight; a round stops publishing after ${fo.capMs / 1000} s (then waits for what it sent) — rounds that did: ${cappedNote(results.fanout)}. Median of the rounds (min–max in parentheses).`);
  lines.push(`- **(b) latency**: the same connections, ${la.messages.toLocaleString('en-US')} publishes at a fixed ${la.ratePerSecond}/s; latency = receive time − send time in the payload, both read in the load generator, over the ${(la.messages * fo.subscribers).toLocaleString('en-US')} subscriber deliveries (the publisher's copy left out).`);
  lines.push(`- **(c) many channels**: ${(c.groups * c.perGroup).toLocaleString('en-US')} connections in ${c.groups.toLocaleString('en-US')} channels of ${c.perGroup}; the first member of each channel publishes, round-robin over the channels. Warm-up of ${c.warmupMessages.toLocaleString('en-US')} publishes, then ${c.rounds} rounds of ${c.messages.toLocaleString('en-US')} publishes (${(c.messages * c.perGroup).toLocaleString('en-US')} deliveries), at most ${c.windowDeliveries.toLocaleString('en-US')} deliveries in flight, ${c.capMs / 1000} s cap (capped rounds: ${cappedNote(results.channels)}). One server at a time, each in a fresh process.`);
  lines.push(`- **(d) idle**: the same ${(c.groups * c.perGroup).toLocaleString('en-US')} connections of (c), measured before any publish: (RSS, heapUsed, external after connecting − before connecting) / connections, both after a full GC in the server (\`--expose-gc\`); the baseline is taken after ${c.warmupConnections} connections were opened and closed.`);
  lines.push(`- **(e) connect**: the ${(c.groups * c.perGroup).toLocaleString('en-US')} connections of (c) opened with ${c.concurrency} handshakes in flight; a connection counts when its handshake is complete (WebSocket open; for Socket.IO also the \`40\` namespace connect). Wall time from the first connect to the last handshake, and the server's CPU over the same span.`);
  lines.push('');
  lines.push('Server CPU is the server process\'s own `process.cpuUsage()` (user + system, all its threads), read over IPC right before and right after each measured round, divided by the deliveries the load generator received. Each server runs in its own process; the one load generator (raw `ws` clients, Socket.IO spoken by hand) is the same for all three.', '');
  lines.push('## Results', '');
  lines.push('Ratios are wsforge ÷ the other server (for "lower is better" metrics below 1 is better for wsforge; for "higher is better" above 1 is).', '');
  lines.push(`| scenario | metric | better | wsforge | raw ws | Socket.IO | wsforge ÷ raw ws | wsforge ÷ Socket.IO |`);
  lines.push(`|---|---|---|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    const cell = (k: ServerKind) => (servers.includes(k) ? `${num(r.values[k], r.digits)}${r.note?.[k] ? ` (${r.note[k]})` : ''}` : 'not run');
    lines.push(`| ${r.scenario} | ${r.metric} | ${r.better} | ${cell('wsforge')} | ${cell('raw-ws')} | ${cell('socketio')} | ${rat(ratio(r, 'raw-ws'))} | ${rat(ratio(r, 'socketio'))} |`);
  }
  lines.push('');
  const t = targets(rows);
  if (t.length) {
    lines.push('## Issue 7 targets (this run)', '');
    lines.push('| target | measured ratio | met |', '|---|---:|---|');
    for (const x of t) lines.push(`| ${x.target} | ${rat(x.measured)} | ${x.met === null ? '—' : x.met ? 'yes' : 'no'} |`);
    lines.push('');
  }
  lines.push('## Reading these numbers', '');
  lines.push('- The machine has 2 cores: the server under test and the load generator each get one (pinned), so deliveries/s is bounded by whichever saturates first (see the "CPU busy" rows); server CPU per delivery is the number to compare.');
  lines.push('- Most of the server\'s CPU per delivery is kernel time (a `write` per message per socket; on loopback TCP much of the receiving side\'s network stack runs on the sending CPU too); the `system` share is in results.json (`serverSystemUs` per round).');
  lines.push('- Socket.IO\'s adapter encodes a broadcast once, WebSocket frame included (`wsPreEncodedFrame`), and writes that buffer to every socket; the naive raw `ws` server builds a frame per recipient. That is why Socket.IO can beat the naive server here.');
  lines.push('- wsforge runs with its defaults (channel history stamping, presence tracking, per-connection counters and limits); for the benchmark route the per-address connection cap and the inbound frame rate limit are lifted, and `presenceUpdates` is off (neither peer announces arrivals; with it on, filling one channel of n costs n² `online-update` frames). Its frames are larger (history position) — see bytes per delivered frame.');
  lines.push('- (a) setup is measured apart and never inside a round.');
  lines.push('- (b) at 100 publishes/s × 1,001 recipients = 100,100 deliveries/s, this machine runs close to its limit, so queueing shows in the percentiles. Under contention from other processes all latencies grow by orders of magnitude.');
  lines.push('- Runs with `--cpu-prof` are slower (profiler overhead): use them to see where time goes, not for these tables.');
  lines.push('');
  if (warnings.length) {
    lines.push('## Warnings', '');
    for (const w of warnings) lines.push(`- ${w}`);
    lines.push('');
  }
  if (errors.length) {
    lines.push('## Errors', '');
    for (const e of errors) lines.push(`- ${e.split('\n')[0]}`);
    lines.push('');
  }
  lines.push(keptOptimisations(mdPath));
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  log(`wsforge benchmark (${meta.mode}): servers ${servers.join(', ')}; scenarios ${scenarios.join(', ')}`);
  log(`${meta.machine}; Node ${meta.node}; pinning: ${meta.pinning}; ${meta.files}`);
  const load = await startLoad(startOpts(pins.load));
  try {
    if (scenarios.includes('fanout') || scenarios.includes('latency')) await fanoutPhase(load);
    if (scenarios.includes('channels')) {
      for (const kind of servers) {
        // One retry with a fresh server process: a single abnormal close among 10,000 loopback
        // connections should not void the run, but it is reported (warnings) either way.
        for (let attempt = 1; attempt <= 2; attempt++) {
          try {
            await channelsPhase(load, kind);
            break;
          } catch (err) {
            for (const k of ['channels', 'idle', 'connect'] as const) delete results[k][kind];
            if (attempt === 1) {
              const msg = `many channels / idle / connect / ${kind}: attempt 1 failed, retried: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
              warnings.push(msg);
              log(`  ! ${msg}`);
              continue;
            }
            const e = failed('many channels / idle / connect', kind, err);
            for (const k of ['channels', 'idle', 'connect'] as const) results[k][kind] = e;
          }
        }
      }
    }
  } finally {
    await load.stop();
  }
  const rows = buildRows();
  const mdPath = `${repoRoot}bench/${outName}.md`;
  const md = markdown(rows, mdPath);
  writeFileSync(mdPath, md);
  const json = {
    meta,
    sizes,
    results,
    fanoutSetup: setup,
    table: rows.map((r) => ({ ...r, ratioToRawWs: ratio(r, 'raw-ws'), ratioToSocketIo: ratio(r, 'socketio') })),
    targets: targets(rows),
    warnings,
    errors,
  };
  writeFileSync(`${repoRoot}bench/${outName}.json`, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  log(`wrote bench/${outName}.md and bench/${outName}.json in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.stdout.write('\n' + md.slice(md.indexOf('| scenario |'), md.indexOf('## Send-path optimisations')) + '\n');
  if (errors.length) {
    process.stderr.write(`${errors.length} error(s):\n${errors.map((e) => `  ${e}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
