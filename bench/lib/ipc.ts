/**
 * Parent/child plumbing for the benchmark: every server and the load generator run in their own
 * Node process (--expose-gc) and answer requests over the IPC channel. A child runs compiled the
 * way `npm start` runs the app (one esbuild bundle, packages left as imports), not through tsx's
 * loader, whose transform adds a `__name` call to every function it creates.
 *
 * Cleanup is the point of this file. Every child started here is registered from the moment it
 * is spawned; on normal exit, failure, SIGINT, SIGTERM or SIGHUP the parent kills whatever is
 * still running, and a child exits on its own as soon as its IPC channel closes (its parent is
 * gone, however it died).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Request {
  id: number;
  op: string;
  params?: unknown;
}
interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
export type Ready = { type: 'ready'; pid: number } & Record<string, unknown>;

const live = new Set<Child<Ready>>();
let hooksInstalled = false;

/** Kills every child still running (SIGKILL: used on the way out, when nothing can be awaited). */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`);
      killAllChildren();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface SpawnOptions {
  /** Extra node flags (e.g. --cpu-prof). --expose-gc is always given. */
  nodeFlags?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** Pin the child to these CPUs (taskset -c list); ignored when taskset is missing. */
  cpus?: string;
  /** Start the child through `sh -c 'ulimit -n N'` to raise its open-file limit (up to the hard limit). */
  fdLimit?: number;
  /** How long to wait for the child's `ready` message. */
  readyTimeoutMs?: number;
  label?: string;
}

const bundles = new Map<string, string>();

/**
 * `script` (a .ts path under the repo root) bundled as `npm start`'s dist/main.js is: into dist/,
 * one level below the root like it, where server/paths.ts finds public/. Built once per parent
 * process, written under a temporary name and renamed, so two runs never read a half-written file.
 */
function compiled(script: string): string {
  let out = bundles.get(script);
  if (out) return out;
  out = `${repoRoot}dist/${script.replace(/\.ts$/, '').replaceAll('/', '-')}.mjs`;
  const result = buildSync({
    entryPoints: [`${repoRoot}${script}`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    outfile: out,
    logLevel: 'warning',
  });
  mkdirSync(`${repoRoot}dist`, { recursive: true });
  const temp = `${out}.${process.pid}.tmp`;
  writeFileSync(temp, result.outputFiles[0]!.contents);
  renameSync(temp, out);
  bundles.set(script, out);
  return out;
}

/** A child process speaking the request/reply protocol of `serve()`. */
export class Child<R extends Ready = Ready> {
  ready!: R;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private exitInfo?: string;
  private readonly exited: Promise<void>;

  private constructor(
    readonly label: string,
    private readonly proc: ChildProcess,
  ) {
    this.exited = new Promise<void>((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitInfo = `${label} (pid ${proc.pid}) exited with ${signal ?? `code ${code}`}`;
        live.delete(this as unknown as Child<Ready>);
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          this.pending.delete(id);
          p.reject(new Error(this.exitInfo));
        }
        resolve();
      }),
    );
    proc.on('message', (m: unknown) => this.onMessage(m as Reply));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Starts `script` (path relative to the repo root) and resolves once it has sent `{type:'ready'}`. */
  static async spawn<R extends Ready = Ready>(script: string, opts: SpawnOptions = {}): Promise<Child<R>> {
    installHooks();
    const label = opts.label ?? script;
    const nodeArgs = ['--expose-gc', ...(opts.nodeFlags ?? []), compiled(script), ...(opts.args ?? [])];
    let argv = [process.execPath, ...nodeArgs];
    if (opts.cpus !== undefined && tasksetAvailable(opts.cpus)) argv = ['taskset', '-c', opts.cpus, ...argv];
    if (opts.fdLimit !== undefined) argv = ['sh', '-c', `ulimit -n ${Math.floor(opts.fdLimit)} && exec "$0" "$@"`, ...argv];
    const proc = spawn(argv[0]!, argv.slice(1), {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child<R>(label, proc);
    live.add(child as unknown as Child<Ready>);
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    try {
      child.ready = await new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label} did not become ready within ${timeoutMs} ms`)), timeoutMs);
        const onReady = (m: unknown) => {
          if ((m as Ready)?.type !== 'ready') return;
          clearTimeout(timer);
          proc.off('message', onReady);
          resolve(m as R);
        };
        proc.on('message', onReady);
        proc.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        void child.exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${child.exitInfo} before it was ready`));
        });
      });
      return child;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  /** One request; rejects when the child answers with an error, exits, or takes longer than timeoutMs. */
  call<T = unknown>(op: string, params?: unknown, timeoutMs = 30_000): Promise<T> {
    if (this.exitInfo) return Promise.reject(new Error(`${op}: ${this.exitInfo}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: "${op}" got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send({ id, op, params } satisfies Request);
    });
  }

  /** Asks the child to exit (so --cpu-prof can write its profile), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.exitInfo) {
      this.call('exit', undefined, graceMs).catch(() => {});
      const t1 = setTimeout(() => this.kill('SIGTERM'), graceMs);
      const t2 = setTimeout(() => this.kill('SIGKILL'), graceMs * 2);
      await this.exited;
      clearTimeout(t1);
      clearTimeout(t2);
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exitInfo) this.proc.kill(signal);
  }

  private onMessage(m: Reply): void {
    if (typeof m?.id !== 'number') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${this.label}: ${m.error}`));
  }
}

const tasksetOk = new Map<string, boolean>();
/** Whether `taskset -c <cpus>` works here (taskset installed, those CPUs allowed). */
export function tasksetAvailable(cpus = '0'): boolean {
  let ok = tasksetOk.get(cpus);
  if (ok === undefined) tasksetOk.set(cpus, (ok = spawnSync('taskset', ['-c', cpus, 'true'], { stdio: 'ignore' }).status === 0));
  return ok;
}

/** The open-file limits (soft, hard) children inherit, as `ulimit -n` / `ulimit -Hn` report them. */
export function fileLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const out = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim();
    return out === 'unlimited' ? Infinity : Number(out) || 1024;
  };
  return { soft: read('-n'), hard: read('-Hn') };
}

export type Handlers = Record<string, (params: any) => unknown>;

/**
 * Child side: answers requests with `handlers[op](params)` and then sends `ready`. The child
 * exits when its parent goes away (IPC closed) or when asked (`exit`).
 */
export function serve(handlers: Handlers, ready: Record<string, unknown>): void {
  if (!process.send) throw new Error('this script is started by the benchmark (bench/run.ts or test/perf.test.ts): it needs an IPC channel');
  const send = process.send.bind(process);
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m: Request) => {
    if (m.op === 'exit') {
      send({ id: m.id, ok: true } satisfies Reply, () => process.exit(0));
      return;
    }
    try {
      const fn = handlers[m.op];
      if (!fn) throw new Error(`unknown op "${m.op}"`);
      const result = await fn(m.params);
      send({ id: m.id, ok: true, result } satisfies Reply);
    } catch (err) {
      send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply);
    }
  });
  send({ type: 'ready', pid: process.pid, ...ready });
}
