/**
 * The feature state stores: the StateStore contract (test/store-contract.ts) against MemoryStore
 * and DurableStore (RedisStore's run is in test/cluster.test.ts, where Redis runs), then what only
 * the durable store promises: state across reopening and across processes, an acknowledged write
 * surviving kill -9, the size bound, volatile keys, the state generation and the kept session
 * secret; and which store createApp picks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig, resolveConfig } from '../server/config';
import { processSecret, SECRET_FILE, storedSecret } from '../server/guest';
import { DurableStore } from '../server/store/durable-store';
import { GENERATION_KEY, stateGeneration } from '../server/store/generation';
import { MemoryStore } from '../server/store/memory-store';
import { closeAll, startApp } from './helpers';
import { storeContract } from './store-contract';

const root = new URL('../', import.meta.url).pathname;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsforge-store-'));
  dirs.push(dir);
  return dir;
};
const opened: Array<{ close(): Promise<void> }> = [];
function durable(dir: string, options: Omit<ConstructorParameters<typeof DurableStore>[0], 'dir'> = {}): DurableStore {
  const store = new DurableStore({ dir, ...options });
  opened.push(store);
  return store;
}
after(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('StateStore contract: MemoryStore', () => {
  storeContract(() => {
    const store = new MemoryStore();
    return { a: store, b: store };
  });
});

describe('StateStore contract: DurableStore (two opens of one directory)', function () {
  this.timeout(20_000);
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  storeContract(() => {
    const dir = tempDir();
    return { a: durable(dir), b: durable(dir) };
  });
});

/** A writer process on `dir` (test/fixtures/store/writer.ts) and the values it has acknowledged. */
function writer(dir: string, key: string, count: number): { proc: ChildProcess; acked: number[]; ready: Promise<void>; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/store/writer.ts', dir, key, String(count)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: number[] = [];
  let buffered = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  proc.stdout!.on('data', (d: Buffer) => {
    const lines = (buffered + d.toString()).split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') onReady();
      else acked.push(Number(line));
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      if (code) console.error(stderr);
      resolve(code);
    }),
  );
  return { proc, acked, ready, exited };
}

describe('DurableStore', function () {
  this.timeout(30_000);
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('keeps values, lists and keys across a close and a reopen', async () => {
    const dir = tempDir();
    const s1 = durable(dir);
    await s1.set('kanban:r:board', { version: 3 });
    for (const i of [1, 2, 3]) await s1.append('chat:history:r', { i }, 2);
    await s1.update<number>('n', (c) => (c ?? 0) + 5);
    await s1.close();
    opened.splice(opened.indexOf(s1), 1);
    const s2 = durable(dir);
    expect(await s2.get('kanban:r:board')).to.deep.equal({ version: 3 });
    expect(await s2.list('chat:history:r')).to.deep.equal([{ i: 2 }, { i: 3 }]);
    expect(await s2.get('n')).to.equal(5);
    expect((await s2.keys('')).sort()).to.deep.equal(['chat:history:r', 'kanban:r:board', 'n']);
    // Appends go on where they stopped.
    await s2.append('chat:history:r', { i: 4 }, 2);
    expect(await s2.list('chat:history:r')).to.deep.equal([{ i: 3 }, { i: 4 }]);
  });

  it('serializes updates across processes: another process and this one, 150 increments each, end at 300', async () => {
    const dir = tempDir();
    const s = durable(dir);
    const other = writer(dir, 'shared', 150);
    await other.ready;
    for (let i = 0; i < 150; i++) await s.update<number>('shared', (c) => (c ?? 0) + 1);
    expect(await other.exited).to.equal(0);
    expect(await s.get('shared')).to.equal(300);
  });

  it('resolves an update only once it is committed: what a process acknowledged survives its kill -9', async () => {
    const dir = tempDir();
    const w = writer(dir, 'acked', 1_000_000);
    await w.ready;
    const deadline = Date.now() + 10_000;
    while (w.acked.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    w.proc.kill('SIGKILL');
    await w.exited;
    const last = w.acked.at(-1)!;
    expect(last).to.be.at.least(40);
    const s = durable(dir);
    // Every acknowledged increment is there (and at most the one in flight besides).
    expect(await s.get<number>('acked')).to.be.within(last, last + 1);
  });

  it('keeps its values under DATA_MAX_MB: the least recently written keys go first, its own keys never', async () => {
    let now = 1000;
    const evicted: string[] = [];
    const s = durable(tempDir(), { maxBytes: 10_000, now: () => now, onEvict: (key) => evicted.push(key) });
    await stateGeneration(s);
    const blob = (n: number) => 'x'.repeat(n);
    for (const room of ['a', 'b', 'c', 'd']) {
      now += 10;
      await s.set(`draw:${room}:canvas`, blob(2000));
    }
    now += 10;
    await s.append('chat:history:a', blob(1000), 50);
    expect(s.bytes).to.be.below(10_000);
    expect(evicted).to.deep.equal([]);
    // Rewriting room a makes it recent: b is now the oldest, then c.
    now += 10;
    await s.set('draw:a:canvas', blob(2100));
    now += 10;
    await s.set('draw:e:canvas', blob(3000));
    expect(evicted).to.deep.equal(['draw:b:canvas', 'draw:c:canvas']);
    expect(s.bytes).to.be.at.most(9_000);
    expect((await s.keys('draw:')).sort()).to.deep.equal(['draw:a:canvas', 'draw:d:canvas', 'draw:e:canvas']);
    expect(await s.get(GENERATION_KEY)).to.be.a('string');
    expect(await s.list('chat:history:a')).to.have.length(1);
  });

  it('keeps volatile keys (who has which cell selected) in memory only', async () => {
    const dir = tempDir();
    const volatile = (key: string) => key.endsWith(':focus');
    const s1 = durable(dir, { volatile });
    await s1.set('sheet:r:focus', { k: 1 });
    await s1.set('sheet:r', { cells: 1 });
    expect(await s1.get('sheet:r:focus')).to.deep.equal({ k: 1 });
    expect((await s1.keys('sheet:')).sort()).to.deep.equal(['sheet:r', 'sheet:r:focus']);
    await s1.close();
    opened.splice(opened.indexOf(s1), 1);
    const s2 = durable(dir, { volatile });
    expect(await s2.get('sheet:r:focus')).to.equal(undefined);
    expect(await s2.get('sheet:r')).to.deep.equal({ cells: 1 });
  });
});

describe('state generation', () => {
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('is the same across reopening a durable store, another one for a wiped directory or a new memory store', async () => {
    const dir = tempDir();
    const s1 = durable(dir);
    const g1 = await stateGeneration(s1);
    expect(await stateGeneration(s1)).to.equal(g1);
    await s1.close();
    opened.splice(opened.indexOf(s1), 1);
    expect(await stateGeneration(durable(dir))).to.equal(g1);
    expect(await stateGeneration(durable(tempDir()))).to.not.equal(g1);
    const m = new MemoryStore();
    const g2 = await stateGeneration(m);
    expect(await stateGeneration(m)).to.equal(g2);
    expect(await stateGeneration(new MemoryStore())).to.not.equal(g2);
  });

  it('is made once when many ask at once', async () => {
    const s = durable(tempDir());
    const all = await Promise.all(Array.from({ length: 20 }, () => stateGeneration(s)));
    expect(new Set(all).size).to.equal(1);
  });
});

describe('the generated session secret', () => {
  it('is kept in DATA_DIR/session-secret (owner-only) and read back; a short one is refused', () => {
    const dir = join(tempDir(), 'nested');
    const secret = storedSecret(dir);
    expect(secret).to.have.length.of.at.least(32);
    expect(storedSecret(dir)).to.equal(secret);
    expect(statSync(join(dir, SECRET_FILE)).mode & 0o777).to.equal(0o600);
    expect(storedSecret(tempDir())).to.not.equal(secret);
    const bad = tempDir();
    writeFileSync(join(bad, SECRET_FILE), 'short\n');
    expect(() => storedSecret(bad)).to.throw(/no usable secret/);
  });
});

describe('createApp: which store', () => {
  afterEach(closeAll);

  it('npm start (the environment) is durable in ./data by default; createApp from code is memory unless asked', async () => {
    expect(loadConfig({})).to.include({ store: 'durable', dataDir: './data', dataMaxBytes: 256 * 1024 * 1024, sessionSecret: undefined });
    expect(loadConfig({ STORE: 'memory', DATA_DIR: '/var/lib/x', DATA_MAX_MB: '0' })).to.include({ store: 'memory', dataDir: '/var/lib/x', dataMaxBytes: 0 });
    expect(() => loadConfig({ STORE: 'disk' })).to.throw(/STORE/);
    expect(resolveConfig({}).store).to.equal('memory');
    expect((await startApp()).app.store).to.be.instanceOf(MemoryStore);
  });

  it("store: 'durable' keeps the state and the session secret in dataDir, across apps", async () => {
    const dataDir = tempDir();
    const a = await startApp({ store: 'durable', dataDir });
    expect(a.app.store).to.be.instanceOf(DurableStore);
    await a.app.store.set('kanban:x:board', { version: 7 });
    const page = await fetch(a.httpUrl('/examples/kanban?room=x'));
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    await a.close();
    const secret = storedSecret(dataDir);
    expect(secret).to.not.equal(processSecret);
    const b = await startApp({ store: 'durable', dataDir });
    expect(await b.app.store.get('kanban:x:board')).to.deep.equal({ version: 7 });
    // The guest cookie of the first app is still valid: no new one is set.
    const again = await fetch(b.httpUrl('/examples/kanban?room=x'), { headers: { cookie } });
    expect(again.headers.get('set-cookie')).to.equal(null);
  });
});
