/**
 * Real processes for the cluster tests: a redis-server and wsforge nodes (`node dist/main.js`),
 * each started on a free port and killed (SIGKILL) by killAll() in the suites' after hooks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect as tcpConnect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const running = new Set<ChildProcess>();

/** Kills every process started here that is still running. */
export function killAll(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}
// mocha's `exit: true` ends the process without after hooks when interrupted: never leave orphans.
process.on('exit', killAll);

/** A port nothing listens on (yet). */
export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export function track(p: ChildProcess): ChildProcess {
  running.add(p);
  p.once('exit', () => running.delete(p));
  return p;
}

/** Resolves once `p` has exited (at once if it already has). */
export function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : once(p, 'exit').then(() => undefined);
}

/** `PING` answered with `+PONG` on a fresh TCP connection. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A redis-server without persistence; restartable on the same port. */
export class RedisServer {
  private proc?: ChildProcess;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a redis-server on a free port. Fails (never skips) when the binary is missing. */
  static async start(): Promise<RedisServer> {
    const probe = spawnSync('redis-server', ['--version']);
    if (probe.error) {
      throw new Error(`redis-server is not installed (${probe.error.message}): the cluster tests need it — apt-get install -y redis-server`);
    }
    const r = new RedisServer(await freePort());
    await r.restart();
    return r;
  }

  /** (Re)starts the server on its port and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error('redis-server is already running');
    const p = track(spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    p.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    p.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    this.proc = p;
    const end = Date.now() + 5000;
    while (!(await ping(this.port))) {
      if (p.exitCode !== null || Date.now() > end) throw new Error(`redis-server on port ${this.port} did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills the server (SIGKILL: nothing is saved, clients see the connection drop). */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    p.kill('SIGKILL');
    await exited(p);
  }
}

export interface NodeOptions {
  nodeId: string;
  /** REDIS_URL; unset for a node on a Redis Cluster (REDIS_CLUSTER_NODES in `env`). */
  redisUrl?: string;
  /** Extra environment (CLUSTER_*, WS_HISTORY_*, SESSION_SECRET…). */
  env?: Record<string, string>;
}

/** One wsforge server process: `node dist/main.js` with PORT=0; its port is read from its log. */
export class NodeProcess {
  private constructor(
    readonly id: string,
    readonly port: number,
    private readonly proc: ChildProcess,
    /** The last lines it logged, for failure messages. */
    readonly log: string[],
  ) {}

  static async start(o: NodeOptions): Promise<NodeProcess> {
    const main = `${root}dist/main.js`;
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`node build.mjs\` first (npm test does)`);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
    Object.assign(env, { PORT: '0', HOST: '127.0.0.1', NODE_ID: o.nodeId, ...(o.redisUrl && { REDIS_URL: o.redisUrl }), LOG_LEVEL: 'info', ...o.env });
    const p = track(spawn(process.execPath, [main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const lines: string[] = [];
    let buffered = '';
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
    };
    p.stdout!.on('data', (d: Buffer) => {
      const parts = (buffered + d.toString()).split('\n');
      buffered = parts.pop()!;
      parts.forEach(onLine);
    });
    p.stderr!.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach(onLine));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${o.nodeId} did not report its port within 10 s:\n${lines.join('\n')}`)), 10_000);
      const check = (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          if (!line.includes('"port"')) continue;
          const entry = JSON.parse(line) as { port?: number; node?: string };
          if (entry.port && entry.node === o.nodeId) {
            clearTimeout(timer);
            p.stdout!.off('data', check);
            resolve(entry.port);
          }
        }
      };
      p.stdout!.on('data', check);
      p.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node ${o.nodeId} exited (${code ?? signal}) before listening:\n${lines.join('\n')}`));
      });
    });
    return new NodeProcess(o.nodeId, port, p, lines);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  url(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  httpUrl(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** kill -9: no shutdown, no goodbye to Redis or clients. */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await exited(this.proc);
  }
}
