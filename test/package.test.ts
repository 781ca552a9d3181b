/**
 * The published package, as an app outside the repo gets it: `npm pack` (whose prepack builds
 * lib/), then a new project in the OS temp dir that installs the tarball with express from the
 * npm registry. There a TypeScript consumer type-checks under moduleResolution node16 and bundler
 * (its @ts-expect-error lines fail the check if any type were `any`), the README's server runs,
 * and a plain JavaScript Express app serves request/reply and a channel broadcast to
 * wsforge/client Sockets in Node, with no example and no admin until asked.
 *
 * It needs the npm registry (or npm's cache): without it the install fails this test, with a
 * message saying so; it is never skipped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const repo = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(repo, 'node_modules', '.bin', 'tsc');
const readmeHeading = '## Add wsforge to an existing Express app';

/**
 * The env of the children, minus what `npm test` exported about this repo (npm_config_local_prefix
 * would point the project's npm at the repo). The user's npm config (registry, cache, cafile) stays.
 */
const repoVars = /^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|npm_config_call$|npm_command$|npm_execpath$|npm_node_execpath$|INIT_CWD$)/i;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !repoVars.test(k)));

interface Run {
  stdout: string;
  stderr: string;
}

/** Commands still running: the suite's after() ends them if a hook or test gave up on them. */
const running = new Set<ChildProcess>();

function run(cmd: string, args: string[], cwd: string, what: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd, env: cleanEnv, maxBuffer: 64 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      running.delete(child);
      if (!error) return resolve({ stdout, stderr });
      const why = error.killed ? `did not finish within ${timeoutMs / 1000} s` : 'failed';
      reject(new Error(`${what} ${why} (${cmd} ${args.join(' ')} in ${cwd}):\n${`${stdout}\n${stderr}`.trim().slice(-4000)}`));
    });
    running.add(child);
  });
}

/** The two ```ts blocks of the README's section: the server, then the browser. */
async function readmeSnippets(): Promise<{ server: string; browser: string }> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf(`${readmeHeading}\n`);
  expect(start, `README.md has a "${readmeHeading}" section`).to.be.at.least(0);
  const section = readme.slice(start).split('\n## ')[0]!;
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks, 'the section has a server and a browser ```ts block').to.have.length(2);
  return { server: blocks[0]!, browser: blocks[1]! };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

// The consumer's files. consumer.ts's @ts-expect-error lines each need a real type to fail on.
const consumerTs = `import type { Server } from 'node:http';
import type { Router } from 'express';
import { attachSockets, defineHandler, defineProtocol, HttpError, SocketError, z, type Handler, type Session, type Sockets } from 'wsforge';
import { SnapshotSync, Socket, type WebSocketConstructor } from 'wsforge/client';
import { useSocket } from 'wsforge/react';
import * as testing from 'wsforge/testing';
import type { chat } from './server.js';

export function attach(server: Server, router: Router): Sockets {
  // @ts-expect-error: not a server
  attachSockets('http://localhost');
  // @ts-expect-error: no such option
  attachSockets(server, { adminn: router });
  return attachSockets(server, { admin: router });
}

export const room = defineProtocol({
  client: { move: z.object({ x: z.number(), y: z.number() }) },
  server: { moved: z.object({ by: z.string(), x: z.number(), y: z.number() }) },
  replies: { move: z.object({ accepted: z.boolean() }) },
});

export const handler: Handler = defineHandler(room, {
  move: (sockets, session, { x, y }, { channel }) => {
    const id: string = session.id;
    // @ts-expect-error: x is a number
    const text: string = x;
    // @ts-expect-error: the service's internals are not part of Session
    session.inbox;
    sockets.writeChannel(room.message(channel, 'moved', { by: id, x, y }));
    // @ts-expect-error: moved needs y
    room.message(channel, 'moved', { by: id, x });
    if (x < 0) throw new SocketError('out_of_bounds', text);
    return { accepted: true };
  },
});
// @ts-expect-error: not the reply schema's type
defineHandler(room, { move: () => ({ accepted: 'yes' }) });

export async function client(WebSocket: WebSocketConstructor) {
  const socket = new Socket<typeof room>({ url: 'ws://localhost/room', WebSocket });
  const { accepted } = await socket.request('lobby', 'move', { x: 1, y: 2 });
  const ok: boolean = accepted;
  // @ts-expect-error: no such cmd
  socket.send({ channel: 'lobby', cmd: 'jump', param: { x: 1, y: 2 } });
  // @ts-expect-error: y is a number
  await socket.request('lobby', 'move', { x: 1, y: '2' });
  // @ts-expect-error: the reply is { accepted: boolean }
  const wrong: string = (await socket.request('lobby', 'move', { x: 1, y: 2 })).accepted;
  const readme = new Socket<typeof chat>({ url: 'ws://localhost/chat', WebSocket });
  // @ts-expect-error: the README's protocol has no such cmd
  readme.send({ channel: 'lobby', cmd: 'shout', param: { text: 'hi' } });
  return { ok, wrong, SnapshotSync };
}

export function useRoom() {
  const { connected, lastMessage } = useSocket<typeof room>({ url: '/room' });
  // @ts-expect-error: moved has no text
  const text: string | undefined = lastMessage?.cmd === 'moved' ? lastMessage.param.text : undefined;
  return { connected, text };
}

export const kit: typeof testing.HandlerTest = testing.HandlerTest;
export const refused = new HttpError(403, 'no');
// @ts-expect-error: z.string() parses to a string
export const parsed: number = z.string().parse('x');
export type { Session };
`;

const tsconfig = (resolution: 'node16' | 'bundler') => ({
  compilerOptions: {
    target: 'es2022',
    module: resolution === 'node16' ? 'node16' : 'esnext',
    moduleResolution: resolution,
    lib: ['es2023', 'dom'],
    types: [],
    strict: true,
    // The package's own declarations are checked too.
    skipLibCheck: false,
    // node16 compiles the README's server for the run below.
    ...(resolution === 'node16' ? { rootDir: 'src', outDir: 'out' } : { noEmit: true }),
  },
  include: ['src'],
});

// A plain JavaScript Express app with its own route and a socket route; ADMIN=1 mounts the admin.
const appMjs = `import { createServer } from 'node:http';
import express from 'express';
import { attachSockets, defineHandler, defineProtocol, z } from 'wsforge';

const app = express();
app.get('/hello', (req, res) => res.send('hello from the app'));
const server = createServer(app);
const sockets = attachSockets(server, process.env.ADMIN === '1' ? { admin: app } : {});
const chat = defineProtocol({
  client: { say: z.object({ text: z.string().min(1) }) },
  server: { said: z.object({ user: z.string(), text: z.string() }) },
  replies: { say: z.object({ members: z.number() }) },
});
const handler = defineHandler(chat, {
  say: (sockets, session, { text }, { channel }) => {
    sockets.writeChannel(chat.message(channel, 'said', { user: session.profile.name, text }));
    return { members: sockets.getConnectionsByChannel(channel).length };
  },
});
sockets.route('/chat', (req, url) => ({ channel: url.searchParams.get('room') ?? 'lobby', handler }), { anonymous: true });
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => sockets.close().then(() => server.close()));
`;

// Two wsforge/client Sockets in Node: a request from one, its broadcast to the other, a refused param.
const clientsMjs = `import { WebSocket } from 'ws';
import { Socket } from 'wsforge/client';

const [url, channel] = process.argv.slice(2);
const said = [];
const errors = [];
const open = () => new Promise((resolve) => {
  const socket = new Socket({
    url, WebSocket,
    onOpen: () => resolve(socket),
    onMessage: (m) => { if (m.cmd === 'said') said.push(m.param); },
    onError: (service, error) => errors.push(service + ': ' + error),
  });
});
const timeout = setTimeout(() => { console.log(JSON.stringify({ timeout: true, said, errors })); process.exit(1); }, 10000);
const a = await open();
const b = await open();
const presence = await b.presence(channel);  // b's frames come after its admission: it is in the channel
const reply = await a.request(channel, 'say', { text: 'hi from a' }, { timeout: 5000 });
while (said.length < 2) await new Promise((r) => setTimeout(r, 10));  // both a and b get the broadcast
const invalid = await a.request(channel, 'say', { text: '' }).then(() => null, (e) => ({ name: e.name, code: e.code }));
a.disconnect();
b.disconnect();
clearTimeout(timeout);
console.log(JSON.stringify({ presence: presence.users.length, reply, said, invalid, errors }));
`;

// The other entries resolve and load in Node; the test kit shares the server's classes.
const entriesMjs = `import * as server from 'wsforge';
import * as client from 'wsforge/client';
import * as react from 'wsforge/react';
import * as testing from 'wsforge/testing';

const types = (mod, names) => Object.fromEntries(names.map((n) => [n, typeof mod[n]]));
console.log(JSON.stringify({
  server: types(server, ['attachSockets', 'defineProtocol', 'defineHandler', 'SocketError', 'HttpError', 'z']),
  client: types(client, ['Socket', 'SnapshotSync']),
  react: types(react, ['useSocket']),
  testing: types(testing, ['HandlerTest']),
  sharedSocketError: new testing.PushError('x', 'y') instanceof server.SocketError,
}));
`;

describe('the npm package (npm pack, installed in a new project)', function () {
  this.timeout(240_000);
  let work = '';
  let project = '';
  let tarballFiles: string[] = [];
  const children = new Set<ChildProcess>();

  /** Starts `node file` in the project and resolves once `ready()` holds (polled), or fails with its output. */
  async function start(file: string, env: Record<string, string>, ready: (output: string) => Promise<boolean> | boolean): Promise<ChildProcess> {
    const child = spawn(process.execPath, [file], { cwd: project, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node ${file} exited with ${child.exitCode}:\n${output}`);
      if (await Promise.resolve(ready(output)).catch(() => false)) return child;
      if (Date.now() > deadline) throw new Error(`node ${file} was not ready within 20 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** app.mjs on an ephemeral port (it prints it). */
  async function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
    let port = 0;
    const child = await start('app.mjs', env, (output) => {
      port = Number(/listening (\d+)/.exec(output)?.[1] ?? 0);
      return port > 0;
    });
    return { child, port };
  }

  async function stop(child: ChildProcess): Promise<void> {
    children.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** The repo's own tsc on the consumer; node16 also compiles it to out/ (once). */
  const checks = new Map<string, Promise<Run>>();
  const typecheck = (resolution: 'node16' | 'bundler') => {
    if (!checks.has(resolution)) checks.set(resolution, run(tsc, ['-p', `tsconfig.${resolution}.json`], project, `tsc on the consumer (moduleResolution ${resolution})`));
    return checks.get(resolution)!;
  };

  async function clients(url: string, channel: string) {
    const { stdout } = await run(process.execPath, ['clients.mjs', url, channel], project, 'the wsforge/client script');
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  }

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'wsforge-package-'));
    // prepack builds lib/ and the admin's assets.
    await run('npm', ['pack', '--pack-destination', work], repo, 'npm pack');
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    expect(tarball, 'npm pack wrote a tarball').to.be.a('string');
    tarballFiles = (await run('tar', ['-tzf', join(work, tarball!)], work, 'tar')).stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));

    project = join(work, 'app');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'wsforge-consumer', private: true, type: 'module' }, null, 2));
    // Few, short retries: an unreachable registry fails here, with npm's message, well within the suite's timeout.
    const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000'];
    await run('npm', [...install, join(work, tarball!), 'express', 'ws', 'react'], project, 'npm install of the tarball with express, ws and react (it needs the npm registry, or npm\'s cache; this test never skips)', 150_000);

    const readme = await readmeSnippets();
    expect(readme.server.split('app.listen(3000)'), 'the README server listens with app.listen(3000)').to.have.length(2);
    await writeFile(join(project, 'src', 'server.ts'), readme.server.replace('app.listen(3000)', 'app.listen(Number(process.env.PORT))'));
    // node16 wants the extension a bundler adds for itself.
    await writeFile(join(project, 'src', 'browser.ts'), readme.browser.replace("from './server'", "from './server.js'"));
    await writeFile(join(project, 'src', 'consumer.ts'), consumerTs);
    await writeFile(join(project, 'tsconfig.node16.json'), JSON.stringify(tsconfig('node16'), null, 2));
    await writeFile(join(project, 'tsconfig.bundler.json'), JSON.stringify(tsconfig('bundler'), null, 2));
    await writeFile(join(project, 'app.mjs'), appMjs);
    await writeFile(join(project, 'clients.mjs'), clientsMjs);
    await writeFile(join(project, 'entries.mjs'), entriesMjs);
  });

  after(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all([...children].map(stop));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds the compiled lib with its types and the admin assets, and nothing else', async () => {
    const manifest = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
    const targets = Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    for (const target of targets) expect(tarballFiles, `exports target ${target}`).to.include(target.replace(/^\.\//, ''));
    const admin = (await readdir(join(repo, 'public', 'js', 'pages'))).filter((f) => /^admin-.*\.js$/.test(f)).map((f) => `public/js/pages/${f}`);
    expect(admin).to.not.be.empty;
    const assets = [...admin, 'public/css/app.css', 'public/css/admin.css', 'public/favicon.svg'];
    expect(tarballFiles).to.include.members(assets);
    const stray = tarballFiles.filter((f) => !assets.includes(f) && !['package.json', 'README.md'].includes(f) && !/^lib\/.*\.(js|d\.ts)$/.test(f));
    expect(stray, 'files outside the lib and the admin assets').to.deep.equal([]);
  });

  it('type-checks a TypeScript consumer under moduleResolution node16 and bundler', async () => {
    await Promise.all([typecheck('node16'), typecheck('bundler')]);
  });

  it("runs the README's server: a broadcast between two wsforge/client Sockets in Node", async () => {
    const port = await freePort();
    await typecheck('node16'); // compiles src/server.ts to out/
    // It prints nothing: poll it.
    const server = await start('out/server.js', { PORT: String(port) }, async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 404);
    const result = await clients(`ws://127.0.0.1:${port}/chat`, 'lobby');
    expect(result.errors).to.deep.equal([]);
    expect(result.presence).to.equal(2);
    expect(result.reply, 'a handler that returns nothing answers null').to.equal(null);
    expect(result.said).to.have.length(2);
    for (const said of result.said) expect(said).to.deep.include({ text: 'hi from a' }).and.to.have.property('user').that.matches(/^guest-/);
    expect(result.invalid).to.deep.equal({ name: 'RequestError', code: 'invalid_param' });
    await stop(server);
  });

  it('serves a plain JavaScript Express app: its route, request/reply, a channel broadcast; no examples, no admin', async () => {
    const { child, port } = await startApp({});
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/hello`)).text()).to.equal('hello from the app');
    const result = await clients(`ws://127.0.0.1:${port}/chat?room=r1`, 'r1');
    expect(result.errors).to.deep.equal([]);
    expect(result.reply).to.deep.equal({ members: 2 });
    expect(result.said.map((s: { text: string }) => s.text)).to.deep.equal(['hi from a', 'hi from a']);
    expect(result.invalid).to.deep.equal({ name: 'RequestError', code: 'invalid_param' });
    for (const path of ['/examples', '/example', '/admin/sockets', '/admin/assets/css/admin.css', '/api/sockets', '/metrics']) {
      expect((await fetch(`${base}${path}`)).status, path).to.equal(404);
    }
    await stop(child);
  });

  it('mounts the admin when asked: { admin: app }', async () => {
    const { child, port } = await startApp({ ADMIN: '1' });
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/admin/sockets`);
    expect(page.status, 'the admin page, from loopback').to.equal(200);
    const html = await page.text();
    const assets = [...new Set([...html.matchAll(/(?:href|src)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1]!))];
    expect(assets, 'the page loads its scripts and styles from /admin/assets').to.include.members(['/admin/assets/css/app.css', '/admin/assets/css/admin.css']);
    expect(assets.some((a) => /\/js\/pages\/admin-[\w-]+\.js$/.test(a))).to.equal(true);
    for (const asset of assets) expect((await fetch(`${base}${asset}`)).status, asset).to.equal(200);
    expect((await fetch(`${base}/examples`)).status).to.equal(404);
    // The app's own sockets still work beside the admin's.
    expect((await clients(`ws://127.0.0.1:${port}/chat`, 'lobby')).reply).to.deep.equal({ members: 2 });
    await stop(child);
  });

  it('resolves wsforge/client, wsforge/react and wsforge/testing in Node', async () => {
    const { stdout } = await run(process.execPath, ['entries.mjs'], project, 'the entries script');
    expect(JSON.parse(stdout)).to.deep.equal({
      server: { attachSockets: 'function', defineProtocol: 'function', defineHandler: 'function', SocketError: 'function', HttpError: 'function', z: 'object' },
      client: { Socket: 'function', SnapshotSync: 'function' },
      react: { useSocket: 'function' },
      testing: { HandlerTest: 'function' },
      // One SocketError class across the entries (shared chunk), not a copy per entry.
      sharedSocketError: true,
    });
  });
});
