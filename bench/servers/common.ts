/**
 * What every benchmark server shares: listen on 127.0.0.1 (ephemeral port, deep backlog) and
 * answer the orchestrator over IPC with its own CPU time, memory after a full GC and the number
 * of connections it holds. Run with --expose-gc (bench/lib/ipc.ts does).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { serve } from '../lib/ipc';

export interface BenchTarget {
  name: string;
  server: Server;
  /** Connections that are open and ready (joined their channel). */
  connections(): number;
}

export interface ServerReady {
  type: 'ready';
  pid: number;
  name: string;
  port: number;
  node: string;
  /** Whether ws finds bufferutil (frame masking/unmasking in C) in this process. */
  bufferutil: boolean;
}

export interface MemorySample extends NodeJS.MemoryUsage {
  connections: number;
}

export async function startBenchServer(t: BenchTarget): Promise<void> {
  t.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  await once(t.server, 'listening');
  const { port } = t.server.address() as AddressInfo;
  serve(
    {
      cpu: () => process.cpuUsage(),
      connections: () => t.connections(),
      memory: async (): Promise<MemorySample> => {
        await fullGc();
        return { ...process.memoryUsage(), connections: t.connections() };
      },
    },
    { name: t.name, port, node: process.version, bufferutil: bufferutilLoaded() } satisfies Omit<ServerReady, 'type' | 'pid'>,
  );
}

async function fullGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory needs node --expose-gc');
  // A few rounds with turns of the loop between, so finalizers and weak callbacks run too.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function bufferutilLoaded(): boolean {
  if (process.env.WS_NO_BUFFER_UTIL) return false;
  try {
    createRequire(import.meta.url)('bufferutil');
    return true;
  } catch {
    return false;
  }
}
