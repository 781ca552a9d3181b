/**
 * Measurement procedures shared by bench/run.ts and test/perf.test.ts: start the servers and the
 * load generator as child processes, and bracket each load phase with the server's own CPU time
 * (process.cpuUsage() in the server, asked over IPC just before and just after).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ConnectParams, ConnectResult, Counters, LatencyParams, LatencyResult, RoundParams, RoundResult, Route, ServerKind } from '../load';
import type { MemorySample, ServerReady } from '../servers/common';
import { Child, tasksetAvailable, type Ready } from './ipc';

export type { Counters, Route, ServerKind };
export const serverKinds: readonly ServerKind[] = ['wsforge', 'raw-ws', 'socketio'];
const serverScripts: Record<ServerKind, string> = {
  wsforge: 'bench/servers/wsforge.ts',
  'raw-ws': 'bench/servers/raw-ws.ts',
  socketio: 'bench/servers/socketio.ts',
};

export type ServerProcess = Child<Ready & ServerReady>;
export type LoadProcess = Child<Ready & { node: string }>;

/**
 * On a machine with 2+ cores the servers run on the last CPU and the load generator on the
 * others, so the two never fight for one core and the scheduler does not move them around.
 */
export function pinning(enabled: boolean): { server?: string; load?: string } {
  const n = availableParallelism();
  const pins = { server: String(n - 1), load: n === 2 ? '0' : `0-${n - 2}` };
  if (!enabled || n < 2 || !tasksetAvailable(pins.server) || !tasksetAvailable(pins.load)) return {};
  return pins;
}

export interface StartOptions {
  cpus?: string;
  nodeFlags?: string[];
  fdLimit?: number;
}

export function startServer(kind: ServerKind, opts: StartOptions & { env?: Record<string, string> } = {}): Promise<ServerProcess> {
  return Child.spawn<Ready & ServerReady>(serverScripts[kind], { label: `server ${kind}`, ...opts });
}

export function startLoad(opts: StartOptions & { label?: string } = {}): Promise<LoadProcess> {
  return Child.spawn<Ready & { node: string }>('bench/load.ts', { label: 'load generator', ...opts });
}

export async function serverCpuUs(server: ServerProcess): Promise<number> {
  const c = await serverCpu(server);
  return c.user + c.system;
}

export function serverCpu(server: ServerProcess): Promise<{ user: number; system: number }> {
  return server.call<{ user: number; system: number }>('cpu');
}

/** Polls until the server reports `n` ready connections (bounded by timeoutMs). */
export async function waitForConnections(server: ServerProcess, n: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let seen = -1;
  while (Date.now() < end) {
    seen = await server.call<number>('connections');
    if (seen === n) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${server.label}: ${seen} connections after ${timeoutMs} ms, expected ${n}`);
}

export interface ConnectMeasure extends ConnectResult {
  serverCpuUs: number;
  serverCpuUsPerConnection: number;
}

export async function measureConnect(load: LoadProcess, server: ServerProcess, p: Omit<ConnectParams, 'port' | 'kind'> & { kind: ServerKind }): Promise<ConnectMeasure> {
  const cpu0 = await serverCpuUs(server);
  const r = await load.call<ConnectResult>('connect', { ...p, port: server.ready.port }, p.timeoutMs + 5_000);
  const cpu = (await serverCpuUs(server)) - cpu0;
  return { ...r, serverCpuUs: cpu, serverCpuUsPerConnection: cpu / r.connections };
}

/** Drains a topology: returns once nothing sent before is still in flight. */
export function barrier(load: LoadProcess, key: string, timeoutMs = 20_000): Promise<{ probes: number; ms: number }> {
  return load.call('barrier', { key, timeoutMs }, timeoutMs + 5_000);
}

export interface RoundMeasure extends RoundResult {
  serverCpuUs: number;
  /** The kernel's share of serverCpuUs (system time: socket writes, loopback TCP). */
  serverSystemUs: number;
  /** Server CPU µs per delivered message. */
  cpuUsPerDelivery: number;
  /** Server CPU time / wall time (1 = one core busy all the time). */
  serverCpuShare: number;
  loadCpuShare: number;
  /**
   * Cores busy with anything but this server and the load generator during the round, from
   * /proc/stat (NaN elsewhere). Includes kernel softirq time not billed to either process, so
   * it is not 0 on an idle machine; a high value means other work competed for the CPUs.
   */
  otherCores: number;
}

/** Busy and total CPU time of the whole machine, in seconds (Linux /proc/stat; undefined elsewhere). */
export function machineCpu(): { busy: number; at: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number) as number[];
    return { busy: (user! + nice! + system! + irq! + softirq! + steal!) / 100, at: performance.now() };
  } catch {
    return undefined;
  }
}

/** One paced round, started from a drained topology, bracketed by the server's CPU time. */
export async function measureRound(load: LoadProcess, server: ServerProcess, p: RoundParams): Promise<RoundMeasure> {
  await barrier(load, p.key);
  const c0 = await serverCpu(server);
  const m0 = machineCpu();
  const r = await load.call<RoundResult>('round', p, p.capMs + 10_000);
  const m1 = machineCpu();
  const c1 = await serverCpu(server);
  const cpu = c1.user + c1.system - c0.user - c0.system;
  const wallS = m0 && m1 ? (m1.at - m0.at) / 1000 : NaN;
  const otherCores = m0 && m1 ? (m1.busy - m0.busy - cpu / 1e6 - r.loadCpuUs / 1e6) / wallS : NaN;
  if (r.lost !== 0) throw new Error(`${server.label}: ${r.lost} of ${r.expected} deliveries still missing ${p.drainMs} ms after the last publish`);
  if (r.extra !== 0) throw new Error(`${server.label}: ${r.extra} unexpected frame(s) beyond the round's ${r.expected} deliveries, the first: ${r.firstExtra}`);
  if (r.firstError !== undefined) throw new Error(`${server.label}: an error frame during the round: ${r.firstError}`);
  return {
    ...r,
    serverCpuUs: cpu,
    serverSystemUs: c1.system - c0.system,
    cpuUsPerDelivery: cpu / r.received,
    serverCpuShare: cpu / 1000 / r.wallMs,
    loadCpuShare: r.loadCpuUs / 1000 / r.wallMs,
    otherCores,
  };
}

export interface LatencyMeasure extends LatencyResult {
  /** Server CPU time / wall time during the run: near 1 means the server was the bottleneck. */
  serverCpuShare: number;
  /** Server CPU µs per delivery received during the run (at a fixed offered rate, unlike the rounds). */
  cpuUsPerDelivery: number;
  otherCores: number;
}

export async function measureLatency(load: LoadProcess, server: ServerProcess, p: LatencyParams): Promise<LatencyMeasure> {
  await barrier(load, p.key);
  const c0 = await serverCpuUs(server);
  const m0 = machineCpu();
  const r = await load.call<LatencyResult>('latency', p, p.capMs + 10_000);
  const m1 = machineCpu();
  const cpu = (await serverCpuUs(server)) - c0;
  const wallS = m0 && m1 ? (m1.at - m0.at) / 1000 : NaN;
  if (r.firstError !== undefined) throw new Error(`${server.label}: an error frame during the latency run: ${r.firstError}`);
  return { ...r, serverCpuShare: cpu / 1e6 / wallS, cpuUsPerDelivery: cpu / r.received, otherCores: m0 && m1 ? (m1.busy - m0.busy - cpu / 1e6 - r.loadCpuUs / 1e6) / wallS : NaN };
}

export async function memory(server: ServerProcess): Promise<MemorySample> {
  return server.call<MemorySample>('memory', undefined, 30_000);
}

export function loadCounters(load: LoadProcess, key: string, k?: number): Promise<Counters> {
  return load.call<Counters>('counters', { key, k });
}

/** One load process's part of a topology (a channel can be spread over several processes and keys). */
export interface Part {
  load: LoadProcess;
  key: string;
}

/** Sums the counters of the parts of a topology. */
export async function spreadCounters(parts: Part[], k?: number): Promise<Counters> {
  const all = await Promise.all(parts.map((p) => loadCounters(p.load, p.key, k)));
  const sum: Counters = { connections: 0, closed: 0, closeCodes: {}, setupFrames: 0, setupBytes: 0, setupKinds: {}, probed: 0 };
  for (const c of all) {
    sum.connections += c.connections;
    sum.closed += c.closed;
    sum.setupFrames += c.setupFrames;
    sum.setupBytes += c.setupBytes;
    sum.probed += c.probed;
    for (const [code, n] of Object.entries(c.closeCodes)) sum.closeCodes[code] = (sum.closeCodes[code] ?? 0) + n;
    for (const [kind, n] of Object.entries(c.setupKinds)) sum.setupKinds[kind] = (sum.setupKinds[kind] ?? 0) + n;
  }
  return sum;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the parts' connections have received no setup frame (presence, notices) for
 * `quietMs`, at most `capMs`. Returns whether it got quiet, and when (ms from the call) the last
 * frame was seen.
 */
export async function waitQuiet(parts: Part[], quietMs: number, capMs: number): Promise<{ quiet: boolean; ms: number }> {
  const start = performance.now();
  let last = -1;
  let lastChange = start;
  while (performance.now() - start < capMs) {
    const frames = (await spreadCounters(parts)).setupFrames;
    const now = performance.now();
    if (frames !== last) {
      last = frames;
      lastChange = now;
    } else if (now - lastChange >= quietMs) return { quiet: true, ms: lastChange - start };
    await sleep(Math.min(100, quietMs / 4));
  }
  return { quiet: false, ms: performance.now() - start };
}

let spreadProbe = 0;
/**
 * A barrier for a channel whose members are spread over several parts: the first part (which
 * holds the publisher) sends a probe, every part counts who has it; done when one probe has
 * reached every open connection, twice in a row (see Topology.barrier). Bounded by timeoutMs.
 */
export async function spreadBarrier(parts: Part[], timeoutMs: number): Promise<{ drained: boolean; ms: number; reached: number; open: number }> {
  const start = performance.now();
  const deadline = start + timeoutMs;
  let full = 0;
  let reached = 0;
  let open = 0;
  while (performance.now() < deadline) {
    const k = ++spreadProbe;
    await parts[0]!.load.call('sendProbe', { key: parts[0]!.key, k });
    const attemptEnd = Math.min(deadline, performance.now() + 5_000);
    do {
      const c = await spreadCounters(parts, k);
      reached = c.probed;
      open = c.connections - c.closed;
      if (reached >= open) break;
      await sleep(20);
    } while (performance.now() < attemptEnd);
    full = reached >= open ? full + 1 : 0;
    if (full === 2) return { drained: true, ms: performance.now() - start, reached, open };
  }
  return { drained: false, ms: performance.now() - start, reached, open };
}

export function closeTopology(load: LoadProcess, key: string): Promise<unknown> {
  return load.call('close', { key });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
