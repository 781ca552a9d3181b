/**
 * A real Redis Cluster for the tests: 6 redis-server processes in cluster mode on free ports, each
 * in a temp dir of its own, joined by `redis-cli --cluster create … --cluster-replicas 1` into 3
 * masters with a replica each. A master can be killed (SIGKILL) to make its replica take over.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { exited, freePort, ping, track } from './processes';

/**
 * How long a master may be unreachable before the others mark it failed and its replica is
 * promoted (cluster-node-timeout): short, so a failover fits in a test.
 */
export const clusterNodeTimeoutMs = 1000;

function requireTool(tool: string, install: string): void {
  const probe = spawnSync(tool, ['--version']);
  if (probe.error) throw new Error(`${tool} is not installed (${probe.error.message}): the Redis Cluster tests need it — ${install}`);
}

/** `INFO`-style `key:value` lines of a reply, as a map. */
function fields(reply: string): Map<string, string> {
  return new Map(reply.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

export class RedisClusterServers {
  private readonly procs = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** `host:port,…` of every server: REDIS_CLUSTER_NODES. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  /** Starts 6 servers, creates the cluster and waits until every server says cluster_state:ok. */
  static async start(): Promise<RedisClusterServers> {
    requireTool('redis-server', 'apt-get install -y redis-server');
    requireTool('redis-cli', 'apt-get install redis-tools');
    const ports: number[] = [];
    while (ports.length < 6) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const c = new RedisClusterServers(ports, mkdtempSync(join(tmpdir(), 'wsf-redis-cluster-')));
    try {
      await Promise.all(ports.map((p) => c.spawn(p)));
      const args = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'];
      const created = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
      await c.waitUntilOk(ports, 20_000);
      return c;
    } catch (err) {
      await c.close();
      throw err;
    }
  }

  private async spawn(port: number): Promise<void> {
    const dir = join(this.dir, String(port));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', `${dir}.conf`, '--cluster-node-timeout', String(clusterNodeTimeoutMs));
    const p = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    p.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    p.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    this.procs.set(port, p);
    const end = Date.now() + 5000;
    while (!(await ping(port))) {
      if (p.exitCode !== null || Date.now() > end) throw new Error(`redis-server (cluster mode) on port ${port} did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Runs one command on one server (not through the cluster). */
  async call(port: number, ...args: string[]): Promise<unknown> {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await r.call(args[0]!, ...args.slice(1));
    } finally {
      r.disconnect();
    }
  }

  /**
   * Waits until every one of `ports` reports cluster_state:ok and every replica among them is in
   * sync with its master (a replica that never synced cannot be promoted).
   */
  async waitUntilOk(ports = this.alive(), timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    const state = async (p: number) => {
      const cluster = fields(String(await this.call(p, 'CLUSTER', 'INFO'))).get('cluster_state');
      const replication = fields(String(await this.call(p, 'INFO', 'replication')));
      return replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up' ? 'syncing' : cluster;
    };
    for (;;) {
      const states = await Promise.all(ports.map((p) => state(p).catch(() => 'down')));
      if (states.every((s) => s === 'ok')) return;
      if (Date.now() > end) throw new Error(`the Redis Cluster is not ok after ${timeoutMs} ms: ${ports.map((p, i) => `${p}=${states[i]}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The port of the master serving `slot`, as a live server sees it. */
  async masterOf(slot: number): Promise<number> {
    const slots = (await this.call(this.alive()[0]!, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no master serves slot ${slot}`);
    return range[2][1];
  }

  /** The ports of the masters, as a live server sees them. */
  async masters(): Promise<number[]> {
    const slots = (await this.call(this.alive()[0]!, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
    return [...new Set(slots.map((range) => range[2][1]))];
  }

  /**
   * Moves one slot, keys and all, to another master, the way `redis-cli --cluster reshard` does
   * (IMPORTING/MIGRATING, MIGRATE in batches, then the new owner on every master): clients get ASK
   * while it moves and MOVED after.
   */
  async moveSlot(slot: number, to: number): Promise<void> {
    const from = await this.masterOf(slot);
    const id = async (port: number) => String(await this.call(port, 'CLUSTER', 'MYID'));
    const [fromId, toId] = [await id(from), await id(to)];
    await this.call(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await this.call(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    for (;;) {
      const keys = (await this.call(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
      if (keys.length === 0) break;
      await this.call(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
    }
    for (const port of [to, from, ...(await this.masters()).filter((p) => p !== to && p !== from)]) {
      await this.call(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    }
  }

  /** Ports of the servers still running. */
  alive(): number[] {
    return this.ports.filter((p) => this.procs.has(p));
  }

  /** kill -9 of one server: its replica is promoted once the others have marked it failed. */
  async kill(port: number): Promise<void> {
    const p = this.procs.get(port);
    this.procs.delete(port);
    if (!p) return;
    p.kill('SIGKILL');
    await exited(p);
  }

  async close(): Promise<void> {
    for (const port of [...this.procs.keys()]) await this.kill(port);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
