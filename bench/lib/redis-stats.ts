/**
 * Redis's own counters around a measurement (bench/capacity.ts): commands executed, from
 * INFO commandstats (which counts the commands a Lua script runs as well as the EVALSHA), bytes
 * read and written, memory, and the main thread's CPU time (the one thread that serves commands).
 */
import type { Redis } from 'ioredis';

export interface RedisSample {
  /** Calls per command name (`evalsha`, `xadd`, `publish`, `subscribe`, …) since Redis started. */
  calls: Record<string, number>;
  netInBytes: number;
  netOutBytes: number;
  usedMemory: number;
  /** Main-thread CPU (user + system), µs. */
  cpuUs: number;
  /** Length of this sample's own INFO reply, which the next sample's output bytes include. */
  replyBytes: number;
}

export interface RedisDelta {
  calls: Record<string, number>;
  /** Every command executed, the sampling's INFO left out. */
  commands: number;
  /** Commands clients sent (a script's inner calls left out: they run inside the EVALSHA). */
  clientCommands: number;
  netInBytes: number;
  netOutBytes: number;
  usedMemory: number;
  cpuUs: number;
}

/**
 * Commands the measured scripts run inside their EVALSHA (server/cluster/scripts.ts: the publish and
 * presence join and leave scripts); wsforge sends none of them itself on those paths. The publish
 * script's PUBLISH is counted apart: one per XADD, as the script runs one of each.
 */
const scriptInner = new Set(['hget', 'hset', 'hincrby', 'xadd', 'pexpire', 'sadd', 'srem', 'hdel', 'hkeys', 'zscore']);

export async function redisSample(r: Redis): Promise<RedisSample> {
  const info = (await r.call('INFO', 'commandstats', 'stats', 'memory', 'cpu')) as string;
  const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return {
    calls,
    netInBytes: field('total_net_input_bytes'),
    netOutBytes: field('total_net_output_bytes'),
    usedMemory: field('used_memory'),
    cpuUs: (field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread')) * 1e6,
    replyBytes: Buffer.byteLength(info) + 16,
  };
}

/** What happened between two samples. */
export function redisDelta(a: RedisSample, b: RedisSample): RedisDelta {
  const calls: Record<string, number> = {};
  let commands = 0;
  let clientCommands = 0;
  for (const [name, n] of Object.entries(b.calls)) {
    const d = n - (a.calls[name] ?? 0);
    if (d === 0 || name === 'info') continue;
    calls[name] = d;
    commands += d;
    if (!scriptInner.has(name)) clientCommands += d;
  }
  clientCommands -= calls.xadd ?? 0;
  return {
    calls,
    commands,
    clientCommands,
    netInBytes: b.netInBytes - a.netInBytes,
    // The first sample's reply was written after it was counted.
    netOutBytes: b.netOutBytes - a.netOutBytes - a.replyBytes,
    usedMemory: b.usedMemory - a.usedMemory,
    cpuUs: b.cpuUs - a.cpuUs,
  };
}
