/**
 * `npm run bench [-- options]`: wsforge on its example routes AS THEY SHIP, side by side with a
 * naive raw `ws` broadcast server and Socket.IO 4 (issue 12). Each server runs in its own
 * process, driven by load-generator processes (bench/load.ts); server CPU is the server's own
 * process.cpuUsage(), read over IPC just before and after each measured phase. Writes
 * bench/results.{md,json}.
 *
 *   --quick              smaller counts, about two minutes (writes bench/results-quick.*)
 *   --servers=a,b        subset of wsforge,raw-ws,socketio
 *   --scenarios=a,b      subset of fanout,chat,base,publishers,channels,idle,latency,reference
 *   --rounds=N           measured rounds per scenario (median reported; targets want ≥ 3)
 *   --no-pin             do not pin servers and load generators to separate CPUs
 *   --cpu-prof           run the servers with --cpu-prof (profiles land in bench/*.cpuprofile)
 *   --out=NAME           write bench/NAME.md and bench/NAME.json
 *   --write-delay=MS     run wsforge with WS_WRITE_DELAY_MS=MS (default: the app's default, 0)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  serverCpuUs,
  serverKinds,
  spreadBarrier,
  spreadCounters,
  startLoad,
  startServer,
  waitForConnections,
  waitQuiet,
  type ConnectMeasure,
  type LatencyMeasure,
  type LoadProcess,
  type Part,
  type RoundMeasure,
  type Route,
  type ServerKind,
  type ServerProcess,
  type StartOptions,
} from './lib/drive';
import { fileLimits, repoRoot } from './lib/ipc';
import type { ConnectResult, RoundParams } from './load';

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    'write-delay': { type: 'string' },
  },
  strict: true,
});

/** Scenario names for --scenarios, in the issue's order: (a) … (g), and the reference route. */
const allScenarios = ['fanout', 'chat', 'base', 'publishers', 'channels', 'idle', 'latency', 'reference'] as const;
type Scenario = (typeof allScenarios)[number];
const list = <T extends string>(arg: string | undefined, all: readonly T[], what: string): T[] => {
  if (!arg) return [...all];
  const xs = arg.split(',').map((s) => s.trim()) as T[];
  for (const x of xs) if (!all.includes(x)) throw new Error(`--${what}: unknown "${x}" (one of ${all.join(', ')})`);
  return all.filter((x) => xs.includes(x));
};
const servers = list(argv.servers, serverKinds, 'servers');
const scenarios = list(argv.scenarios, allScenarios, 'scenarios');
const has = (s: Scenario) => scenarios.includes(s);
const quick = argv.quick;
/** Not the standard run (a subset, or a changed server setting): written to results-quick.* unless --out says otherwise. */
const partial = servers.length < serverKinds.length || scenarios.length < allScenarios.length || argv['write-delay'] !== undefined;
const outName = argv.out ?? (quick || partial ? 'results-quick' : 'results');
const rounds = Math.max(1, Number(argv.rounds ?? 3));

/** Every size of the run: what results.md reports as "the exact scenario sizes". */
const sizes = {
  payloadBytes: 256,
  rounds,
  /** (a), (d), (g) and the reference: 1 publisher (or 100, for d) + 1,000 subscribers in one channel. */
  fanout: {
    subscribers: 1000,
    /** Publishes in flight at most, per measured level. */
    levels: [1, 16, 64],
    messages: quick ? 60 : 400,
    warmupMessages: quick ? 60 : 300,
    capMs: quick ? 10_000 : 30_000,
    drainMs: 20_000,
  },
  /**
   * (b) and (c): one chat room; every member publishes in turn, paced below the chat's own per-user
   * limit. The chat tells every member of each arrival (a join notice: n²/2 frames to fill a room
   * of n) and sends its user list at most every 250 ms; 500 members keep the fill short.
   */
  room: {
    members: quick ? 250 : 500,
    levels: quick ? [16] : [16, 64],
    messages: quick ? 160 : 800,
    warmupMessages: quick ? 60 : 300,
    /**
     * Joins in chunks, each followed by a pause until nothing arrives for quietMs: every join makes
     * the chat send each member a join notice, and the one load generator reads for all of them.
     */
    chunk: { size: 25, quietMs: 200 },
    /** The chat handler allows 10 messages at once, then one per 500 ms, per connection: the load generator stays below. */
    rate: { burst: 8, perSecond: 1.8 },
  },
  /** (d): 100 of the fan-out channel's members publish, each at most 10 a second, at most 100 publishes in flight. */
  publishers: { publishers: 100, perSecond: 10, inFlight: 100 },
  /** (g) */
  latency: { ratePerSecond: 100, messages: quick ? 100 : 1000 },
  /** (e) */
  channels: {
    groups: quick ? 200 : 1000,
    perGroup: 10,
    messages: quick ? 3000 : 30_000,
    warmupMessages: quick ? 500 : 5000,
    /** Publishes in flight per channel on average (the window is this × all connections: 20,000 deliveries at 10,000). */
    inFlightPerChannel: 2,
    capMs: quick ? 8_000 : 30_000,
    drainMs: 20_000,
    /** Handshakes in flight while connecting. */
    concurrency: 100,
    /** Connections opened and closed before the memory baseline (lazy init and JIT are not billed to the connections). */
    warmupConnections: 1000,
  },
  /** (f) */
  idle: {
    connections: quick ? 4000 : 19_000,
    /** Load-generator processes, each from its own loopback address (127.0.0.2, 127.0.0.3, …). */
    loadProcesses: quick ? 2 : 4,
    concurrency: 100,
    /** The fill stops here; what was admitted by then is reported. */
    fillCapMs: quick ? 25_000 : 120_000,
    /** After the fill: wait at most this long for the server to go quiet, and as long again for the barrier. */
    drainCapMs: quick ? 10_000 : 30_000,
    /** "Quiet": no frame to any member for this long. */
    quietMs: 1000,
    /** Presence frames per join allowed by the target: a constant, whatever the channel's size (n² costs about n ÷ 2). */
    framesPerJoinMax: 4,
    warmupConnections: 1000,
  },
};

/**
 * Server-side settings of the benchmarked wsforge process, through its environment (the app reads
 * it like `npm start` does). results.md lists them with the reason.
 */
const serverEnv: Record<string, { value: string; why: string }> = {
  WS_RATE_LIMIT_PER_SECOND: {
    value: '1000000',
    why: '(a), (g) and the reference have ONE publisher sending up to thousands of frames a second, and (e) has 1,000 publishers at up to ~50 a second each; the default (50/s per connection) would refuse them. The limiter still runs on every frame',
  },
  WS_RATE_LIMIT_BURST: { value: '1000000', why: 'the same' },
  WS_MAX_CONNECTIONS_PER_IP: {
    value: '100000',
    why: `the load generator is one loopback address (127.0.0.1) for (a)–(e) and ${sizes.idle.loadProcesses} for (f) (${Math.ceil(sizes.idle.connections / sizes.idle.loadProcesses).toLocaleString('en-US')} connections each); the default cap is 256 per address`,
  },
};
if (argv['write-delay'] !== undefined) {
  serverEnv.WS_WRITE_DELAY_MS = { value: String(Number(argv['write-delay'])), why: '`--write-delay`: frames to one connection coalesced for this many ms (default 0)' };
}
const wsforgeEnv = Object.fromEntries(Object.entries(serverEnv).map(([k, v]) => [k, v.value]));

// ---------------------------------------------------------------- environment

const limits = fileLimits();
const phase1Connections = (sizes.fanout.subscribers + 1) * 2 + sizes.room.members * 2;
const fdNeeded = Math.max(
  has('channels') ? sizes.channels.groups * sizes.channels.perGroup : 0,
  phase1Connections * servers.length,
  has('idle') ? sizes.idle.connections : 0,
) + 256;
let fdNote = `open-file limit ${limits.soft} (hard ${limits.hard}); needed ≈ ${fdNeeded} per process`;
let fdLimit: number | undefined;
if (limits.soft < fdNeeded) {
  if (limits.hard >= fdNeeded) {
    fdLimit = fdNeeded;
    fdNote += `; children started with ulimit -n ${fdNeeded}`;
  } else {
    fdLimit = limits.hard;
    const room = limits.hard - 256;
    if (sizes.idle.connections > room) {
      fdNote += `; cannot be raised: idle SCALED DOWN from ${sizes.idle.connections} to ${room} connections`;
      sizes.idle.connections = room;
    }
    const groups = Math.floor(room / sizes.channels.perGroup / 100) * 100;
    if (groups < sizes.channels.groups) {
      fdNote += `; many channels SCALED DOWN from ${sizes.channels.groups * sizes.channels.perGroup} to ${groups * sizes.channels.perGroup} connections`;
      sizes.channels.groups = groups;
    }
  }
}
const pins = pinning(!argv['no-pin']);
const serverFlags = argv['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir=bench'] : [];
const serverOpts = (kind: ServerKind): StartOptions & { env?: Record<string, string> } => ({
  cpus: pins.server,
  fdLimit,
  nodeFlags: serverFlags,
  env: kind === 'wsforge' ? wsforgeEnv : undefined,
});

const versionOf = (pkg: string) => (JSON.parse(readFileSync(`${repoRoot}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
const meta = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  machine: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
  node: process.version,
  versions: { ws: versionOf('ws'), 'socket.io': versionOf('socket.io'), 'engine.io': versionOf('engine.io'), bufferutil: versionOf('bufferutil') },
  bufferutil: {} as Partial<Record<ServerKind, boolean>>,
  pinning: pins.server ? `servers on CPU ${pins.server}, load generators on CPU ${pins.load} (taskset)` : 'none',
  files: fdNote,
  git: gitDescribe(),
  servers,
  scenarios,
  serverEnv: wsforgeEnv,
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

interface RoundsResult {
  rounds: RoundMeasure[];
  cpuUsPerDelivery: number;
  cpuUsPerDeliveryMin: number;
  cpuUsPerDeliveryMax: number;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  serverCpuShare: number;
  loadCpuShare: number;
  otherCores: number;
  bytesPerDelivery: number;
  /** Rounds that hit the time cap and published fewer messages (still measured, over fewer deliveries). */
  cappedRounds: number;
}
interface SetupResult {
  connections: number;
  connectMs: number;
  /** Server CPU from the first connect until the topology's setup traffic went quiet. */
  serverCpuUs: number;
  framesPerJoin: number;
  bytesPerJoin: number;
  kinds: Record<string, number>;
}
interface MemoryResult {
  connections: number;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  externalBytesPerConnection: number;
  before: { rss: number; heapUsed: number; external: number };
  after: { rss: number; heapUsed: number; external: number };
}
interface IdleResult {
  target: number;
  admitted: number;
  /** The server's own count at the end. */
  held: number;
  closedByServer: number;
  closeCodes: Record<string, number>;
  stopped?: string;
  connectMs: number;
  perSecond: number;
  serverCpuUsPerConnection: number;
  /** The server sent nothing for quietMs within drainCapMs after the fill (and when, from the end of the fill). */
  quiet: boolean;
  quietAfterMs: number;
  /** Frames the members received during the fill and until the server went quiet (presence announcements; barrier probes excluded). */
  frames: number;
  bytes: number;
  framesPerJoin: number;
  kinds: Record<string, number>;
  memory?: MemoryResult;
}
type PerServer<T> = Partial<Record<ServerKind, T | { error: string }>>;

/** A measured fan-out shape of phase 1: scenario, topology, and how it publishes. */
interface Measure {
  id: string;
  scenario: Scenario;
  /** The table's scenario column. */
  label: string;
  topology: TopologyName;
  inFlight: number;
  params: (deliveriesPerPublish: number) => Omit<RoundParams, 'key'>;
  /** Only these servers (the reference route is wsforge's). */
  only?: ServerKind;
}
type TopologyName = 'fan' | 'chat' | 'base' | 'ref';

const results = {
  rounds: {} as Record<string, PerServer<RoundsResult>>,
  setup: {} as Partial<Record<TopologyName, PerServer<SetupResult>>>,
  latency: {} as PerServer<LatencyMeasure>,
  channels: {} as PerServer<RoundsResult>,
  channelsConnect: {} as PerServer<ConnectMeasure>,
  channelsMemory: {} as PerServer<MemoryResult>,
  idle: {} as PerServer<IdleResult>,
};
const errors: string[] = [];
const warnings: string[] = [];
const failed = (what: string, kind: ServerKind, err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  errors.push(`${what} / ${kind}: ${msg}`);
  log(`  ✗ ${what} ${kind}: ${msg.split('\n')[0]}`);
  return { error: msg.split('\n')[0]! };
};

function summarize(rs: RoundMeasure[], deliveriesPerPublish: number): RoundsResult {
  const cpu = rs.map((r) => r.cpuUsPerDelivery);
  return {
    rounds: rs,
    cpuUsPerDelivery: median(cpu),
    cpuUsPerDeliveryMin: Math.min(...cpu),
    cpuUsPerDeliveryMax: Math.max(...cpu),
    deliveriesPerSecond: median(rs.map((r) => r.deliveriesPerSecond)),
    publishesPerSecond: median(rs.map((r) => r.deliveriesPerSecond / deliveriesPerPublish)),
    serverCpuShare: median(rs.map((r) => r.serverCpuShare)),
    loadCpuShare: median(rs.map((r) => r.loadCpuShare)),
    otherCores: median(rs.map((r) => r.otherCores)),
    bytesPerDelivery: median(rs.map((r) => r.bytesPerDelivery)),
    cappedRounds: rs.filter((r) => r.capped).length,
  };
}

const t0 = Date.now();
function log(s: string): void {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);
}
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const roundLog = (what: string, kind: ServerKind, m: RoundMeasure) =>
  log(
    `${what} ${kind.padEnd(8)} ${f(m.cpuUsPerDelivery, 3)} µs/delivery (${f((m.serverSystemUs / m.serverCpuUs) * 100, 0)}% system), ${f(m.deliveriesPerSecond / 1000, 0)}k deliveries/s, server CPU ${f(m.serverCpuShare * 100, 0)}%, load CPU ${f(m.loadCpuShare * 100, 0)}%, other ${f(m.otherCores, 2)} cores${m.capped ? ` (capped: ${m.sent}/${m.requested} publishes)` : ''}`,
  );

// ---------------------------------------------------------------- phase 1: one channel, fan-out

interface TopologySpec {
  route: Route;
  members: number;
  publishersPerGroup: number;
  prefix: string;
  only?: ServerKind;
  chunk?: { size: number; quietMs: number };
}
const needFan = has('fanout') || has('publishers') || has('latency');
const topologies: Partial<Record<TopologyName, TopologySpec>> = {
  ...(needFan ? { fan: { route: 'example' as Route, members: sizes.fanout.subscribers + 1, publishersPerGroup: has('publishers') ? sizes.publishers.publishers : 1, prefix: 'fanout' } } : {}),
  ...(has('chat') ? { chat: { route: 'chat' as Route, members: sizes.room.members, publishersPerGroup: sizes.room.members, prefix: 'benchchat', chunk: sizes.room.chunk } } : {}),
  // wsforge: /api/ws with no query, room `general` (as Base's chat page); the peers: a channel of that name.
  ...(has('base') ? { base: { route: 'base' as Route, members: sizes.room.members, publishersPerGroup: sizes.room.members, prefix: 'general', chunk: sizes.room.chunk } } : {}),
  ...(has('reference') ? { ref: { route: 'reference' as Route, members: sizes.fanout.subscribers + 1, publishersPerGroup: 1, prefix: 'reference', only: 'wsforge' as ServerKind } } : {}),
};
const topologyLabels: Record<TopologyName, string> = {
  fan: '(a) setup',
  chat: '(b) setup',
  base: '(c) setup',
  ref: 'reference setup',
};

function measures(): Measure[] {
  const fo = sizes.fanout;
  const ro = sizes.room;
  const out: Measure[] = [];
  const plain = (inFlight: number, messages: number) => (g: number) => ({
    messages,
    windowDeliveries: inFlight * g,
    payloadBytes: sizes.payloadBytes,
    capMs: fo.capMs,
    drainMs: fo.drainMs,
    publishers: 1,
  });
  if (has('fanout')) for (const n of fo.levels) out.push({ id: `a${n}`, scenario: 'fanout', label: `(a) fan-out, ${n} in flight`, topology: 'fan', inFlight: n, params: plain(n, fo.messages) });
  if (has('reference')) out.push({ id: 'ref64', scenario: 'reference', label: 'reference: /bench/socket, 64 in flight', topology: 'ref', inFlight: 64, params: plain(64, fo.messages), only: 'wsforge' });
  for (const [name, letter] of [['chat', 'b'], ['base', 'c']] as const) {
    if (!has(name)) continue;
    for (const n of ro.levels) {
      out.push({
        id: `${letter}${n}`,
        scenario: name,
        label: `(${letter}) ${name === 'chat' ? 'chat say' : 'Base /api/ws'}, ${n} in flight`,
        topology: name,
        inFlight: n,
        params: (g) => ({ messages: ro.messages, windowDeliveries: n * g, payloadBytes: sizes.payloadBytes, capMs: fo.capMs, drainMs: fo.drainMs, rate: ro.rate }),
      });
    }
  }
  if (has('publishers')) {
    const pu = sizes.publishers;
    out.push({
      id: 'd',
      scenario: 'publishers',
      label: '(d) many publishers',
      topology: 'fan',
      inFlight: pu.inFlight,
      params: (g) => ({ messages: fo.messages, windowDeliveries: pu.inFlight * g, payloadBytes: sizes.payloadBytes, capMs: fo.capMs, drainMs: fo.drainMs, publishers: pu.publishers, rate: { burst: 1, perSecond: pu.perSecond } }),
    });
  }
  return out;
}

/** Connects a topology and waits until its setup traffic (presence, join notices) is over. */
async function setupTopology(load: LoadProcess, server: ServerProcess, kind: ServerKind, name: TopologyName, t: TopologySpec): Promise<SetupResult> {
  const key = `${name}-${kind}`;
  const cpu0 = await serverCpuUs(server);
  const c = await load.call<ConnectResult>(
    'connect',
    { key, kind, route: t.route, port: server.ready.port, groups: 1, perGroup: t.members, publishersPerGroup: t.publishersPerGroup, concurrency: 100, timeoutMs: 180_000, prefix: t.prefix, exactChannel: true, chunk: t.chunk },
    185_000,
  );
  const quiet = await waitQuiet([{ load, key }], 300, 180_000);
  const cpu = (await serverCpuUs(server)) - cpu0;
  if (!quiet.quiet) warnings.push(`${name} / ${kind}: setup traffic still flowing after 180 s`);
  await barrier(load, key, 120_000);
  const counters = await spreadCounters([{ load, key }]);
  return {
    connections: c.connections,
    connectMs: c.wallMs,
    serverCpuUs: cpu,
    framesPerJoin: counters.setupFrames / c.connections,
    bytesPerJoin: counters.setupBytes / c.connections,
    kinds: counters.setupKinds,
  };
}

async function fanoutPhase(load: LoadProcess): Promise<void> {
  const ms = measures();
  const wantLatency = has('latency');
  if (!ms.length && !wantLatency) return;
  const started: ServerProcess[] = [];
  const up = new Map<ServerKind, ServerProcess>();
  /** Topologies that are up, per server. */
  const ready = new Map<ServerKind, Set<TopologyName>>();
  try {
    for (const kind of servers) {
      try {
        const s = await startServer(kind, serverOpts(kind));
        started.push(s);
        up.set(kind, s);
        ready.set(kind, new Set());
        meta.bufferutil[kind] = s.ready.bufferutil;
      } catch (err) {
        for (const m of ms) (results.rounds[m.id] ??= {})[kind] = failed('phase 1 start', kind, err);
      }
    }
    for (const [kind, s] of up) {
      for (const [name, t] of Object.entries(topologies) as Array<[TopologyName, TopologySpec]>) {
        if (t.only && t.only !== kind) continue;
        try {
          const r = await setupTopology(load, s, kind, name, t);
          (results.setup[name] ??= {})[kind] = r;
          ready.get(kind)!.add(name);
          log(`${topologyLabels[name]} ${kind.padEnd(8)} ${t.route} ×${t.members}: connected in ${f(r.connectMs / 1000)} s, server CPU ${f(r.serverCpuUs / 1e6)} s until quiet, ${f(r.framesPerJoin, 1)} frames (${f(r.bytesPerJoin / 1024, 1)} KiB) received per join`);
        } catch (err) {
          (results.setup[name] ??= {})[kind] = failed(`${topologyLabels[name]}`, kind, err);
        }
      }
    }
    const roundOf = (kind: ServerKind, m: Measure, messages?: number) => {
      const t = topologies[m.topology]!;
      const p = m.params(t.members);
      return measureRound(load, up.get(kind)!, { key: `${m.topology}-${kind}`, ...p, messages: messages ?? p.messages });
    };
    const eligible = (m: Measure) => [...up.keys()].filter((k) => (!m.only || m.only === k) && ready.get(k)!.has(m.topology));
    // One warm-up round per topology and server (JIT, buffers), with the first measure that uses it.
    const warmed = new Set<string>();
    for (const m of ms) {
      for (const kind of eligible(m)) {
        const key = `${m.topology}-${kind}`;
        if (warmed.has(key)) continue;
        warmed.add(key);
        try {
          await roundOf(kind, m, m.topology === 'chat' || m.topology === 'base' ? sizes.room.warmupMessages : sizes.fanout.warmupMessages);
        } catch (err) {
          ready.get(kind)!.delete(m.topology);
          (results.rounds[m.id] ??= {})[kind] = failed(`${m.label} warm-up`, kind, err);
        }
      }
    }
    for (const m of ms) {
      const kinds = eligible(m);
      const rs = new Map<ServerKind, RoundMeasure[]>(kinds.map((k) => [k, []]));
      for (let r = 1; r <= rounds; r++) {
        // Rotate the order each round so no server always runs right after the same other one.
        const order = [...rs.keys()];
        for (let i = 0; i < (r - 1) % Math.max(1, order.length); i++) order.push(order.shift()!);
        for (const kind of order) {
          const got = rs.get(kind);
          if (!got) continue;
          try {
            const x = await roundOf(kind, m);
            got.push(x);
            roundLog(`${m.label} round ${r}/${rounds}`, kind, x);
          } catch (err) {
            rs.delete(kind);
            (results.rounds[m.id] ??= {})[kind] = failed(m.label, kind, err);
          }
        }
      }
      for (const [kind, got] of rs) (results.rounds[m.id] ??= {})[kind] = summarize(got, topologies[m.topology]!.members);
    }
    if (wantLatency) {
      const la = sizes.latency;
      for (const [kind, s] of up) {
        if (!ready.get(kind)!.has('fan')) {
          results.latency[kind] = { error: 'no fan-out topology' };
          continue;
        }
        try {
          const r = await measureLatency(load, s, { key: `fan-${kind}`, messages: la.messages, ratePerSecond: la.ratePerSecond, payloadBytes: sizes.payloadBytes, capMs: (la.messages / la.ratePerSecond) * 1000 + 15_000, publishers: 1 });
          if (r.capped) throw new Error(`latency run ended with ${r.received}/${r.expected} deliveries`);
          results.latency[kind] = r;
          log(`(g) latency ${kind.padEnd(8)} p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, max ${f(r.max)} ms (${r.samples} samples), server CPU ${f(r.serverCpuShare * 100, 0)}%, other ${f(r.otherCores, 2)} cores`);
        } catch (err) {
          results.latency[kind] = failed('(g) latency', kind, err);
        }
      }
    }
  } finally {
    // Servers first: closing 1,000 chat members would make the chat send every leave to everyone.
    await Promise.all(started.map((s) => s.stop()));
    for (const kind of servers) for (const name of Object.keys(topologies)) await closeTopology(load, `${name}-${kind}`).catch(() => {});
  }
}

// ---------------------------------------------------------------- phase 2: many channels

async function memoryDelta(server: ServerProcess, before: Awaited<ReturnType<typeof memory>>, n: number): Promise<MemoryResult> {
  const after = await memory(server);
  const per = (k: 'rss' | 'heapUsed' | 'external') => (after[k] - before[k]) / n;
  return {
    connections: n,
    rssBytesPerConnection: per('rss'),
    heapBytesPerConnection: per('heapUsed'),
    externalBytesPerConnection: per('external'),
    before: { rss: before.rss, heapUsed: before.heapUsed, external: before.external },
    after: { rss: after.rss, heapUsed: after.heapUsed, external: after.external },
  };
}

/** Opens and closes `n` connections in channels of 10, so lazy init and JIT are not billed to what follows. */
async function warmConnections(load: LoadProcess, server: ServerProcess, kind: ServerKind, n: number): Promise<void> {
  const key = `warm-${kind}`;
  await measureConnect(load, server, { key, kind, route: 'example', groups: n / 10, perGroup: 10, publishersPerGroup: 0, concurrency: 100, timeoutMs: 60_000, prefix: 'warm' });
  await closeTopology(load, key);
  await waitForConnections(server, 0, 30_000);
}

/** (e) many channels: one fresh server at a time; its connect rate and memory too. */
async function channelsPhase(load: LoadProcess, kind: ServerKind): Promise<void> {
  const c = sizes.channels;
  const n = c.groups * c.perGroup;
  const key = `ch-${kind}`;
  const server = await startServer(kind, serverOpts(kind));
  meta.bufferutil[kind] = server.ready.bufferutil;
  try {
    await warmConnections(load, server, kind, Math.min(c.warmupConnections, n));
    const before = await memory(server);
    const conn = await measureConnect(load, server, { key, kind, route: 'example', groups: c.groups, perGroup: c.perGroup, publishersPerGroup: 1, concurrency: c.concurrency, timeoutMs: 120_000, prefix: 'c' });
    results.channelsConnect[kind] = conn;
    await waitForConnections(server, n, 30_000);
    await barrier(load, key, 60_000);
    const mem = await memoryDelta(server, before, n);
    results.channelsMemory[kind] = mem;
    log(`(e) setup ${kind.padEnd(8)} ${n} connections in ${f(conn.wallMs / 1000)} s: ${f(conn.perSecond, 0)}/s, ${f(conn.serverCpuUsPerConnection, 1)} µs server CPU per connection; ${f(mem.heapBytesPerConnection, 0)} B heap, ${f(mem.rssBytesPerConnection, 0)} B RSS per connection`);
    const roundOf = (messages: number) => measureRound(load, server, { key, messages, windowDeliveries: c.inFlightPerChannel * c.groups * c.perGroup, payloadBytes: sizes.payloadBytes, capMs: c.capMs, drainMs: c.drainMs });
    await roundOf(c.warmupMessages);
    const rs: RoundMeasure[] = [];
    for (let r = 1; r <= rounds; r++) {
      const m = await roundOf(c.messages);
      roundLog(`(e) many channels round ${r}/${rounds}`, kind, m);
      rs.push(m);
    }
    results.channels[kind] = summarize(rs, c.perGroup);
  } finally {
    await server.stop();
    await closeTopology(load, key).catch(() => {});
  }
}

// ---------------------------------------------------------------- phase 3: idle, one channel of many

/**
 * (f) `connections` clients from several load processes (one loopback address each) join one
 * presence-on channel. After the fill the server is given time to go quiet, then a barrier makes
 * sure every frame it sent has arrived, so the frames the fill cost are counted exactly. Bounded
 * by fillCapMs (the fill) and drainCapMs (each wait): what was admitted is reported.
 */
async function idlePhase(load: LoadProcess, loads: LoadProcess[], kind: ServerKind): Promise<void> {
  const z = sizes.idle;
  const server = await startServer(kind, serverOpts(kind));
  meta.bufferutil[kind] = server.ready.bufferutil;
  const key = `idle-${kind}`;
  const parts: Part[] = loads.map((l) => ({ load: l, key }));
  try {
    await warmConnections(load, server, kind, z.warmupConnections);
    const before = await memory(server);
    const shares = loads.map((_, i) => Math.floor(z.connections / loads.length) + (i < z.connections % loads.length ? 1 : 0));
    const cpu0 = await serverCpuUs(server);
    const start = performance.now();
    const got = await Promise.all(
      loads.map((l, i) =>
        l.call<ConnectResult>(
          'connect',
          {
            key,
            kind,
            route: 'example',
            port: server.ready.port,
            groups: 1,
            perGroup: shares[i]!,
            // The barrier's probe comes from the first process's first connection.
            publishersPerGroup: i === 0 ? 1 : 0,
            concurrency: Math.max(1, Math.round(z.concurrency / loads.length)),
            timeoutMs: z.fillCapMs,
            prefix: 'idle',
            exactChannel: true,
            localAddress: `127.0.0.${2 + i}`,
            partial: true,
            tolerateCloses: true,
          },
          z.fillCapMs + 20_000,
        ),
      ),
    );
    const connectMs = performance.now() - start;
    const quiet = await waitQuiet(parts, z.quietMs, z.drainCapMs);
    const cpu = (await serverCpuUs(server)) - cpu0;
    const drained = await spreadBarrier(parts, z.drainCapMs);
    const c = await spreadCounters(parts);
    const admitted = got.reduce((sum, x) => sum + x.connections, 0);
    const held = await server.call<number>('connections');
    const r: IdleResult = {
      target: z.connections,
      admitted,
      held,
      closedByServer: c.closed,
      closeCodes: c.closeCodes,
      stopped: got.find((x) => x.stopped)?.stopped ?? (drained.drained ? undefined : `a probe had reached ${drained.reached} of ${drained.open} members ${z.drainCapMs / 1000} s after the server went quiet`),
      connectMs,
      perSecond: (admitted / connectMs) * 1000,
      serverCpuUsPerConnection: cpu / admitted,
      quiet: quiet.quiet,
      quietAfterMs: quiet.ms,
      frames: c.setupFrames,
      bytes: c.setupBytes,
      framesPerJoin: c.setupFrames / admitted,
      kinds: c.setupKinds,
    };
    if (held > 0) r.memory = await memoryDelta(server, before, held);
    results.idle[kind] = r;
    log(
      `(f) idle ${kind.padEnd(8)} held ${r.held}/${r.target} (${r.admitted} admitted in ${f(connectMs / 1000)} s, ${r.closedByServer} closed by the server), ${f(r.perSecond, 0)} connections/s, ${f(r.serverCpuUsPerConnection, 1)} µs server CPU per connection (quiet ${quiet.quiet ? `${f(quiet.ms / 1000)} s after the fill` : `NOT within ${z.drainCapMs / 1000} s`}), ${f(r.framesPerJoin, 2)} frames to members per join ${JSON.stringify(r.kinds)}, ${r.memory ? `${f(r.memory.heapBytesPerConnection, 0)} B heap, ${f(r.memory.rssBytesPerConnection, 0)} B RSS per connection` : ''}${r.stopped ? ` — stopped: ${r.stopped}` : ''}`,
    );
  } finally {
    // Server first: 19,000 leaves on a presence-on channel would be announced to everyone.
    await server.stop();
    for (const p of parts) await closeTopology(p.load, p.key).catch(() => {});
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
  /** Key for targets. */
  id?: string;
}

function ok<T>(r: T | { error: string } | undefined): T | undefined {
  return r && typeof r === 'object' && 'error' in r ? undefined : (r as T | undefined);
}
function rowOf<T>(scenario: string, metric: string, better: Better, digits: number, src: PerServer<T> | undefined, pick: (r: T) => number | undefined, note?: (r: T) => string | undefined): Row {
  const values: Row['values'] = {};
  const notes: Row['note'] = {};
  for (const k of servers) {
    const r = ok(src?.[k]);
    if (!r) continue;
    const v = pick(r);
    if (v !== undefined) values[k] = v;
    const n = note?.(r);
    if (n) notes[k] = n;
  }
  return { scenario, metric, better, values, digits, note: note ? notes : undefined };
}
const range = (r: RoundsResult) => `${f(r.cpuUsPerDeliveryMin, 3)}–${f(r.cpuUsPerDeliveryMax, 3)}`;

function buildRows(): Row[] {
  const rows: Row[] = [];
  for (const m of measures()) {
    let src = results.rounds[m.id];
    if (m.only) {
      // The reference row: wsforge on its special route; the peers' column is their (a) at the same in-flight level (the same workload).
      const peersOf = results.rounds[`a${m.inFlight}`];
      src = { ...peersOf, wsforge: src?.wsforge };
      for (const k of servers) if (k !== 'wsforge' && !peersOf?.[k]) delete src[k];
    }
    rows.push(
      { ...rowOf(m.label, 'server CPU µs per delivery', 'lower', 3, src, (r) => r.cpuUsPerDelivery, range), id: `${m.id}.cpu` },
      rowOf(m.label, 'deliveries per second', 'higher', 0, src, (r) => r.deliveriesPerSecond),
    );
    if (m.scenario === 'publishers') rows.push(rowOf(m.label, 'publishes per second (offered ≤ 1,000)', 'higher', 0, src, (r) => r.publishesPerSecond));
    rows.push(rowOf(m.label, 'bytes per delivered frame (payload 256)', 'lower', 0, src, (r) => r.bytesPerDelivery));
  }
  for (const [name, spec] of Object.entries(topologies) as Array<[TopologyName, TopologySpec]>) {
    const src = results.setup[name];
    if (!src) continue;
    const label = topologyLabels[name];
    rows.push(
      rowOf(label, `connect ${spec.members.toLocaleString('en-US')} into one channel: wall s`, 'lower', 2, src, (r) => r.connectMs / 1000),
      rowOf(label, 'server CPU s, until the setup traffic is over', 'lower', 2, src, (r) => r.serverCpuUs / 1e6),
      { ...rowOf(label, 'frames received per join (presence, notices)', 'lower', 1, src, (r) => r.framesPerJoin), noRatio: true },
      { ...rowOf(label, 'KiB received per join', 'lower', 1, src, (r) => r.bytesPerJoin / 1024), noRatio: true },
    );
  }
  if (has('channels')) {
    const label = '(e) many channels';
    rows.push(
      { ...rowOf(label, 'server CPU µs per delivery', 'lower', 3, results.channels, (r) => r.cpuUsPerDelivery, range), id: 'e.cpu' },
      rowOf(label, 'deliveries per second', 'higher', 0, results.channels, (r) => r.deliveriesPerSecond),
      rowOf('(e) setup', 'connections per second', 'higher', 0, results.channelsConnect, (r) => r.perSecond),
      rowOf('(e) setup', 'server CPU µs per connection', 'lower', 1, results.channelsConnect, (r) => r.serverCpuUsPerConnection),
      rowOf('(e) setup', 'JS heap bytes per connection', 'lower', 0, results.channelsMemory, (r) => r.heapBytesPerConnection),
      rowOf('(e) setup', 'RSS bytes per connection', 'lower', 0, results.channelsMemory, (r) => r.rssBytesPerConnection),
    );
  }
  if (has('idle')) {
    const label = `(f) idle, ${sizes.idle.connections.toLocaleString('en-US')} in one channel`;
    const src = results.idle;
    rows.push(
      { ...rowOf(label, 'connections held at the end', 'higher', 0, src, (r) => r.held, (r) => (r.stopped ? 'stopped early' : undefined)), noRatio: true, id: 'f.held' },
      { ...rowOf(label, 'closed by the server during the fill', 'lower', 0, src, (r) => r.closedByServer, (r) => Object.entries(r.closeCodes).map(([c, n]) => `${n}× ${c}`).join(', ') || undefined), noRatio: true },
      rowOf(label, 'connections per second (fill)', 'higher', 0, src, (r) => r.perSecond),
      { ...rowOf(label, 'server CPU µs per admitted connection', 'lower', 1, src, (r) => r.serverCpuUsPerConnection), id: 'f.cpu' },
      { ...rowOf(label, 'JS heap bytes per connection', 'lower', 0, src, (r) => r.memory?.heapBytesPerConnection), id: 'f.heap' },
      rowOf(label, 'RSS bytes per connection', 'lower', 0, src, (r) => r.memory?.rssBytesPerConnection),
      { ...rowOf(label, 'frames to members per join (presence)', 'lower', 2, src, (r) => r.framesPerJoin, (r) => (r.quiet ? undefined : 'still sending')), noRatio: true, id: 'f.frames' },
    );
  }
  if (has('latency')) {
    const label = '(g) latency, 100 publishes/s';
    rows.push(
      rowOf(label, 'p50 ms', 'lower', 2, results.latency, (r) => r.p50),
      { ...rowOf(label, 'p99 ms', 'lower', 2, results.latency, (r) => r.p99), id: 'g.p99' },
      rowOf(label, 'max ms', 'lower', 2, results.latency, (r) => r.max),
      rowOf(label, 'server CPU busy, % of one core', 'lower', 0, results.latency, (r) => r.serverCpuShare * 100),
      rowOf(label, 'server CPU µs per delivery (fixed rate)', 'lower', 3, results.latency, (r) => r.cpuUsPerDelivery),
    );
  }
  return rows;
}

const ratio = (row: Row | undefined, vs: ServerKind): number => {
  if (!row) return NaN;
  const a = row.values.wsforge;
  const b = row.values[vs];
  if (row.noRatio || a === undefined || b === undefined || !(Math.abs(b) >= 1e-3) || a < 0 || b < 0) return NaN;
  return a / b;
};

interface Target {
  target: string;
  measured: number;
  limit: number;
  /** How `measured` reads: a ratio (×) or a plain number. */
  unit: '×' | '';
  met: boolean | null;
  why?: string;
}

const n2 = (x: number) => Math.round(x).toLocaleString('en-US');

function targets(rows: Row[]): Target[] {
  const byId = (id: string) => rows.find((r) => r.id === id);
  const t: Target[] = [];
  const add = (target: string, measured: number, limit: number, unit: '×' | '' = '×', why?: string) => t.push({ target, measured, limit, unit, met: Number.isFinite(measured) ? measured <= limit : null, why });
  for (const m of measures()) {
    if (m.only) continue;
    const row = byId(`${m.id}.cpu`);
    if (m.scenario === 'publishers') add(`${m.label}: server CPU per delivery ≤ 0.5× raw ws`, ratio(row, 'raw-ws'), 0.5);
    else if (m.inFlight >= 16) {
      add(`${m.label}: server CPU per delivery ≤ 0.35× raw ws`, ratio(row, 'raw-ws'), 0.35);
      add(`${m.label}: server CPU per delivery ≤ 0.3× Socket.IO`, ratio(row, 'socketio'), 0.3);
    } else add(`${m.label}: server CPU per delivery ≤ 0.9× raw ws`, ratio(row, 'raw-ws'), 0.9);
  }
  if (has('channels')) add('(e) many channels: server CPU per delivery ≤ 0.5× raw ws', ratio(byId('e.cpu'), 'raw-ws'), 0.5);
  if (has('idle')) {
    const w = ok(results.idle.wsforge);
    if (w || results.idle.wsforge) {
      const missing = w ? w.target - w.held : NaN;
      t.push({ target: `(f) all ${sizes.idle.connections.toLocaleString('en-US')} connections held`, measured: w ? w.held : NaN, limit: sizes.idle.connections, unit: '', met: w ? missing === 0 : null, why: w?.stopped });
    }
    add('(f) heap per connection ≤ 1.2× raw ws', ratio(byId('f.heap'), 'raw-ws'), 1.2);
    add('(f) server CPU per admitted connection ≤ 1.5× raw ws', ratio(byId('f.cpu'), 'raw-ws'), 1.5);
    add(`(f) presence frames per join bounded by a constant: ≤ ${sizes.idle.framesPerJoinMax} (every join to every member: ≈ n ÷ 2 = ${n2(sizes.idle.connections / 2)})`, w?.framesPerJoin ?? NaN, sizes.idle.framesPerJoinMax, '', w && !w.quiet ? 'the server was still sending when the wait ended' : undefined);
  }
  if (has('latency')) add('(g) p99 latency ≤ raw ws', ratio(byId('g.p99'), 'raw-ws'), 1);
  return t;
}

const optimisationsPlaceholder = `## Send-path optimisations

Each step measured with \`npm run bench\` (fan-out, median server CPU µs per delivery) right
before and right after the change, in the same session on this machine.

| step | CPU µs/delivery before → after | raw ws in the same run | notes |
|---|---|---|---|
`;

/** The optimisation log is written by hand: keep whatever results.md already has. */
function keptOptimisations(path: string): string {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : existsSync(`${repoRoot}bench/results.md`) ? readFileSync(`${repoRoot}bench/results.md`, 'utf8') : '';
  const start = text.indexOf('## Send-path optimisations');
  if (start < 0) return optimisationsPlaceholder;
  // The section runs to the end of the file (its ### subsections included).
  return text.slice(start).trimEnd() + '\n';
}

const noiseWarnCores = 0.35;

function cappedNote(): string {
  const parts: string[] = [];
  for (const [id, src] of Object.entries(results.rounds)) for (const [k, r] of Object.entries(src)) if (ok(r)?.cappedRounds) parts.push(`${id} ${k} ${ok(r)!.cappedRounds}`);
  for (const [k, r] of Object.entries(results.channels)) if (ok(r)?.cappedRounds) parts.push(`(e) ${k} ${ok(r)!.cappedRounds}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** "Other cores busy" of every measured round and latency run. */
function noiseReadings(): number[] {
  const out: number[] = [];
  for (const src of [...Object.values(results.rounds), results.channels]) for (const r of Object.values(src)) for (const m of ok(r)?.rounds ?? []) out.push(m.otherCores);
  for (const r of Object.values(results.latency)) if (ok(r)) out.push(ok(r)!.otherCores);
  return out.filter(Number.isFinite);
}

function markdown(rows: Row[], mdPath: string): string {
  const num = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const rat = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
  const n = (x: number) => x.toLocaleString('en-US');
  const fo = sizes.fanout;
  const ro = sizes.room;
  const la = sizes.latency;
  const c = sizes.channels;
  const z = sizes.idle;
  const lines: string[] = [];
  lines.push(`# Benchmark results (issue 12: the example routes as they ship)`, '');
  lines.push(`Written by \`npm run bench${quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${meta.date}. **${quick ? 'QUICK run: small counts, for a smoke check only' : 'Full run'}.**${partial ? ` Scenarios: ${scenarios.join(', ')}; servers: ${servers.join(', ')}${argv['write-delay'] !== undefined ? `; WS_WRITE_DELAY_MS=${argv['write-delay']}` : ''}.` : ''}`, '');
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
  lines.push('## Server settings for the load', '');
  lines.push('wsforge runs the app `npm start` runs (`createApp` with `loadConfig()`: every example route mounted with its own options, hooks and handlers), with these environment variables set by the benchmark and everything else at its default (presence updates on, history on, the chat\'s own per-user message limit, ping interval…):', '');
  lines.push('| variable | value | why |', '|---|---|---|');
  for (const [k, v] of Object.entries(serverEnv)) lines.push(`| \`${k}\` | ${v.value} | ${v.why} |`);
  lines.push('', 'The peers (raw `ws`, Socket.IO) have no such limits. Nothing else is changed and no route is added for the scenarios; the old benchmark-only route `/bench/socket` is measured once as a labelled reference row.', '');
  lines.push('## Scenarios (exact sizes of this run)', '');
  lines.push(`Every publish carries a ${sizes.payloadBytes}-character payload (\`#T<send time>#<seq>#xxx…\`). The publisher of a channel is a member of it and gets its own message back, on all three servers, so a publish to a channel of N members is N deliveries. Each measurement: ${rounds} rounds per server, interleaved across the servers (the order rotates each round), each started from a drained channel (a barrier of probes), after one unmeasured warm-up round per channel; median reported (min–max in parentheses). Rounds capped at ${fo.capMs / 1000} s (then waiting for what was sent): ${cappedNote()}. All traffic is on loopback.`, '');
  lines.push('The peers\' equivalent workload is always the same: the same number of connections in the same channels, the same publishes from the same members at the same in-flight level, each broadcast to every member by their naive handler (raw `ws`: parse, stringify once, `send` to each member; Socket.IO: `io.to(room).emit`). They do no authorization, no presence, no store, no history.', '');
  if (has('fanout')) lines.push(`- **(a) fan-out** on \`/example/socket?ch=fanout\`, cmd \`chat {text}\` (anonymous, its \`authorize\` hook, guest profiles, presence on, history): 1 publisher + ${n(fo.subscribers)} subscribers; ${n(fo.messages)} publishes (${n(fo.messages * (fo.subscribers + 1))} deliveries) per round, at most ${fo.levels.join(', ')} publishes in flight.`);
  if (has('chat')) lines.push(`- **(b) chat** \`say {text}\` on \`/examples/chat/socket?room=benchchat\` (the chat page's frame, channel left empty; room route: \`roomAuthorize\`, guest profiles, an async handler that reads the nickname and appends to the room's history in the store, presence on): one room of ${n(ro.members)} (the chat tells every member of each arrival with a join notice, n²/2 frames to fill a room, and sends the user list and room list at most every 250 ms: see (b) setup; the room is filled ${ro.chunk.size} joins at a time, each chunk followed by a pause until nothing has arrived for ${ro.chunk.quietMs} ms, so the one load generator, reading for every member, never falls behind); every member publishes in turn (the chat allows each user 10 messages at once, then one per 500 ms: the load generator keeps each member under ${ro.rate.burst} at once and ${ro.rate.perSecond}/s); ${n(ro.messages)} publishes (${n(ro.messages * ro.members)} deliveries) per round, at most ${ro.levels.join(', ')} in flight.`);
  if (has('base')) lines.push(`- **(c) Base** on \`/api/ws\` through the Base codec (\`server/features/chat/base-codec.ts\`), exactly as Base Framework's chat page (base-core \`static/chat.html\`) connects and sends: no query (so room \`general\`, and the codec's chat.html page), \`{"type":"chat","content":…}\` → the chat handler's \`say\`; it receives Base's \`{type:'message', content, room, nickname, …}\`. ${n(ro.members)} members, the same handler and pacing as (b).`);
  if (has('publishers')) lines.push(`- **(d) many publishers**: the (a) channel; ${sizes.publishers.publishers} of its members publish in turn, each at most ${sizes.publishers.perSecond} a second (1,000 a second offered), at most ${sizes.publishers.inFlight} publishes in flight; ${n(fo.messages)} publishes per round.`);
  if (has('channels')) lines.push(`- **(e) many channels**: ${n(c.groups * c.perGroup)} connections in ${n(c.groups)} channels of ${c.perGroup} on \`/example/socket?ch=c<i>\`; the first member of each channel publishes, round-robin over the channels; warm-up of ${n(c.warmupMessages)} publishes, then rounds of ${n(c.messages)} publishes (${n(c.messages * c.perGroup)} deliveries), at most ${n(c.inFlightPerChannel * c.groups * c.perGroup)} deliveries in flight (${c.inFlightPerChannel} publishes per channel on average, whatever the run's size). One server at a time, each in a fresh process. **(e) setup**: the same connections opened with ${c.concurrency} handshakes in flight, after ${n(c.warmupConnections)} were opened and closed; memory = (after − before) / connections, after a full GC in the server (\`--expose-gc\`).`);
  if (has('idle')) lines.push(`- **(f) idle**: ${n(z.connections)} connections into ONE channel of a presence-on route (\`/example/socket?ch=idle\`: guests, its \`authorize\` hook, presence updates on as shipped), held by one server process, from ${z.loadProcesses} load-generator processes, each from its own loopback address (127.0.0.2–127.0.0.${1 + z.loadProcesses}), ${z.concurrency} handshakes in flight in all. The fill stops after ${z.fillCapMs / 1000} s (or at a refused or timed-out handshake) and what was admitted is reported. After it the server gets up to ${z.drainCapMs / 1000} s to go quiet (no frame to any member for ${z.quietMs / 1000} s), then as long again for a barrier probe to reach every member, so every frame sent until then is counted: **frames to members per join** are those frames (presence announcements: \`presence-diff\`/\`online-update\` on wsforge, none on the peers) ÷ connections admitted; an announcement the server holds back longer than ${z.quietMs / 1000} s of silence is not counted. **Connect rate**: admitted ÷ the fill's wall time; **server CPU per admitted connection**: the server's CPU from the first connect until it went quiet ÷ admitted. **Heap and RSS per connection**: (after − before) ÷ connections held, after a full GC, the baseline taken after ${n(z.warmupConnections)} connections were opened and closed. The peers' equivalent: the same connections into one room, nothing announced.`);
  if (has('latency')) lines.push(`- **(g) latency**: the (a) channel, its one publisher at a fixed ${la.ratePerSecond} publishes/s (${n(la.messages)} publishes); latency = receive time − send time in the payload, both read in the load generator, over the ${n(la.messages * fo.subscribers)} subscriber deliveries (the publisher's copy left out).`);
  if (has('reference')) lines.push(`- **reference**: the old benchmark-only route \`/bench/socket\` (no \`authorize\` hook, a sync handler, presence updates off, rate limit lifted), wsforge only, like (a) at 64 in flight. Not a real route: it shows what the earlier figures measured. Its raw ws and Socket.IO cells are their (a) at 64 in flight (the same workload).`);
  lines.push('', '**setup** rows: connecting the channel of that scenario, measured apart and never inside a round: wall time, server CPU until the setup traffic is over (no frame for 300 ms), and what the members received per join (presence announcements; on the chat routes also the join notice, the user list `users` and the room list `rooms`, throttled, and the joiner\'s `state`).', '');
  lines.push('Server CPU is the server process\'s own `process.cpuUsage()` (user + system, all its threads), read over IPC right before and right after each measured round, divided by the deliveries the load generator received. Each server runs in its own process; the load generators (raw `ws` clients, Socket.IO spoken by hand) are the same for all three.', '');
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
    lines.push('## Issue 12 targets (this run, computed)', '');
    if (rounds < 3) lines.push(`> Only ${rounds} round(s) per measurement: the targets ask for the median of at least three.`, '');
    if (quick) lines.push('> Quick run: smaller counts than the targets are stated for (see the sizes above).', '');
    lines.push('| target | measured | met |', '|---|---:|---|');
    for (const x of t) {
      const shown = x.unit === '×' ? (Number.isFinite(x.measured) ? `${x.measured.toFixed(3)}×` : '—') : num(x.measured, Number.isInteger(x.measured) ? 0 : 2);
      lines.push(`| ${x.target} | ${shown} | ${x.met === null ? '— (not measured)' : x.met ? 'yes' : 'no'}${x.why ? ` (${x.why})` : ''} |`);
    }
    const met = t.filter((x) => x.met).length;
    lines.push('', `${met} of ${t.length} targets met.`, '');
  }
  lines.push('## Reading these numbers', '');
  lines.push('- The machine has 2 cores: the server under test and the load generators each get one (pinned), so deliveries/s is bounded by whichever saturates first; server CPU per delivery is the number to compare.');
  lines.push('- Most of the server\'s CPU per delivery is kernel time (a `write` per frame per socket unless frames to a socket are batched; on loopback TCP much of the receiving side\'s network stack runs on the sending CPU too); the `system` share of each round is in results.json (`serverSystemUs`).');
  lines.push('- Socket.IO\'s adapter encodes a broadcast once, WebSocket frame included, and writes that buffer to every socket; the naive raw `ws` server builds a frame per recipient.');
  lines.push('- wsforge\'s frames are larger (history position; on the chat routes a message id, user id, name and time): see bytes per delivered frame.');
  lines.push('- (g) at 100 publishes/s × 1,001 recipients = 100,100 deliveries/s, a server that needs more than ~10 µs per delivery cannot keep up on one core, so its queue (and latency) grows for the whole run.');
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
  log(`wsforge environment: ${Object.entries(wsforgeEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const load = await startLoad({ cpus: pins.load, fdLimit });
  const idleLoads: LoadProcess[] = [];
  try {
    await fanoutPhase(load);
    if (has('channels')) {
      for (const kind of servers) {
        // One retry with a fresh server process: a single abnormal close among 10,000 loopback
        // connections should not void the run, but it is reported (warnings) either way.
        for (let attempt = 1; attempt <= 2; attempt++) {
          try {
            await channelsPhase(load, kind);
            break;
          } catch (err) {
            for (const k of ['channels', 'channelsConnect', 'channelsMemory'] as const) delete results[k][kind];
            if (attempt === 1) {
              const msg = `(e) many channels / ${kind}: attempt 1 failed, retried: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
              warnings.push(msg);
              log(`  ! ${msg}`);
              continue;
            }
            const e = failed('(e) many channels', kind, err);
            for (const k of ['channels', 'channelsConnect', 'channelsMemory'] as const) results[k][kind] = e;
          }
        }
      }
    }
    if (has('idle')) {
      const z = sizes.idle;
      const perProcess = Math.ceil(z.connections / z.loadProcesses) + 256;
      if (limits.hard < perProcess) throw new Error(`(f) needs ${perProcess} open files per load generator; the hard limit is ${limits.hard}`);
      for (let i = 0; i < z.loadProcesses; i++) idleLoads.push(await startLoad({ cpus: pins.load, fdLimit: limits.soft < perProcess ? perProcess : undefined, label: `idle load generator ${i + 1}` }));
      for (const kind of servers) {
        try {
          await idlePhase(load, idleLoads, kind);
        } catch (err) {
          results.idle[kind] = failed('(f) idle', kind, err);
        }
        await sleep(1000); // let the closed sockets of the previous server go
      }
    }
  } finally {
    await Promise.all([load, ...idleLoads].map((l) => l.stop()));
  }
  const rows = buildRows();
  const mdPath = `${repoRoot}bench/${outName}.md`;
  const md = markdown(rows, mdPath);
  writeFileSync(mdPath, md);
  const json = {
    meta,
    sizes,
    serverEnv,
    results,
    table: rows.map((r) => ({ ...r, ratioToRawWs: ratio(r, 'raw-ws'), ratioToSocketIo: ratio(r, 'socketio') })),
    targets: targets(rows),
    warnings,
    errors,
  };
  writeFileSync(`${repoRoot}bench/${outName}.json`, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  log(`wrote bench/${outName}.md and bench/${outName}.json in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.stdout.write('\n' + md.slice(md.indexOf('| scenario |'), md.indexOf('## Reading these numbers')) + '\n');
  if (errors.length) {
    process.stderr.write(`${errors.length} error(s):\n${errors.map((e) => `  ${e}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
