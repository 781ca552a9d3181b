/**
 * `npm start`'s server as a real process for restart tests: `node dist/main.js` (built by
 * `node build.mjs`) on 127.0.0.1, PORT=0 the first time (its port is read from its log) and the
 * same port again on a restart, so open pages reconnect to it. No REDIS_URL: a single node with
 * the store of its environment (the durable store in DATA_DIR unless `env` says otherwise).
 * Every process still running is SIGKILLed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url).pathname;
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface ServerProcessOptions {
  dataDir: string;
  /** 0 (default): any free port. Give the previous process's port to restart "the same server". */
  port?: number;
  env?: Record<string, string>;
}

export class ServerProcess {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
    /** Its last log lines, for failure messages. */
    readonly log: string[],
  ) {}

  static async start(o: ServerProcessOptions): Promise<ServerProcess> {
    const main = `${root}dist/main.js`;
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`node build.mjs\` first`);
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(o.port ?? 0), HOST: '127.0.0.1', DATA_DIR: o.dataDir, LOG_LEVEL: 'info', ...o.env };
    const p = spawn(process.execPath, [main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(p);
    p.once('exit', () => running.delete(p));
    const log: string[] = [];
    let buffered = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not report its port within 10 s:\n${log.join('\n')}`)), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        const lines = (buffered + d.toString()).split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          log.push(line);
          if (log.length > 200) log.shift();
          if (!line.includes('"port"')) continue;
          const entry = JSON.parse(line) as { port?: number };
          if (entry.port) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        }
      });
      p.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
      p.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
      });
    });
    return new ServerProcess(port, p, log);
  }

  httpUrl(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Stops it as Ctrl-C would (SIGTERM: graceful shutdown) and resolves with its exit code. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(this.proc.exitCode);
    return new Promise((resolve) => {
      this.proc.once('exit', (code) => resolve(code));
      this.proc.kill(signal);
    });
  }
}
