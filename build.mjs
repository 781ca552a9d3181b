// Bundles the browser client, the page scripts and the server with esbuild. No type checking
// here (npm test runs tsc): the build stays fast. `node build.mjs --watch` rebuilds on change.
// `node build.mjs --lib` (npm pack's prepack) also builds the published package into lib/:
// docs/package.md says what goes where and why.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/** The core client bundle must stay below this many bytes, minified and gzipped. */
const clientBudget = 4096;
const watch = process.argv.includes('--watch');
const lib = process.argv.includes('--lib');

const browser = { bundle: true, minify: true, sourcemap: true, target: 'es2022', logLevel: 'warning' };
const pages = readdirSync('client/pages')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => `./client/pages/${f}`);

const builds = [
  { ...browser, entryPoints: ['./client/index.ts'], outfile: 'public/js/wsforge.esm.js', format: 'esm' },
  { ...browser, entryPoints: ['./client/index.ts'], outfile: 'public/js/wsforge.js', format: 'iife', globalName: 'wsforge' },
  { ...browser, entryPoints: pages, outdir: 'public/js/pages', format: 'esm' },
  {
    // './' matters: with packages: 'external' a bare 'server/main.ts' would be taken for a package.
    entryPoints: ['./server/main.ts'],
    outfile: 'dist/main.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  },
];

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log('watching for changes…');
} else {
  const results = await Promise.allSettled(builds.map((options) => esbuild.build(options)));
  // esbuild has already printed the errors.
  if (results.some((r) => r.status === 'rejected')) process.exit(1);
  const bytes = gzipSync(readFileSync('public/js/wsforge.esm.js')).length;
  console.log(`public/js/wsforge.esm.js: ${bytes} bytes min+gzip (budget ${clientBudget})`);
  if (bytes > clientBudget) {
    console.error(`client bundle is ${bytes - clientBudget} bytes over its budget`);
    process.exit(1);
  }
  if (lib) await buildLib();
}

/**
 * The package: lib/<entry>.js (ESM, one level below the package root, where server/paths.ts
 * expects it: the admin serves <root>/public) with lib/<entry>.d.ts beside each, and the
 * declarations they re-export under lib/types/. Each side is one esbuild build with code
 * splitting, so `wsforge` and `wsforge/testing` share one SocketError class (and the client
 * entries one Socket class) instead of a copy per entry.
 */
async function buildLib() {
  const started = Date.now();
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  // What a consumer gets with wsforge: its dependencies and peers, and what those depend on
  // (@types/node comes with @types/express and @types/ws, as "*": one copy, the app's own).
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  for (const name of [...declared]) {
    const manifest = join('node_modules', name, 'package.json');
    if (existsSync(manifest)) for (const dep of Object.keys(JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {})) declared.add(dep);
  }
  const fail = (message) => {
    console.error(`build --lib: ${message}`);
    process.exit(1);
  };
  const entries = {
    server: { index: './server/index.ts', testing: './server/testing/index.ts' },
    client: { client: './client/index.ts', react: './client/react.ts' },
  };
  for (const file of [...Object.values(entries.server), ...Object.values(entries.client)]) {
    if (!existsSync(file)) fail(`${file} is missing: package.json's exports name it`);
  }
  rmSync('lib', { recursive: true, force: true });
  const common = { bundle: true, splitting: true, format: 'esm', outdir: 'lib', metafile: true, logLevel: 'warning' };
  const [server, client] = await Promise.all([
    // Packages stay imports (package.json's dependencies); node builtins too.
    esbuild.build({ ...common, entryPoints: entries.server, platform: 'node', target: 'node20', packages: 'external', chunkNames: 'shared-server-[hash]' }),
    // For browsers and bundlers: no Node import, no server code, react left to the app.
    esbuild.build({ ...common, entryPoints: entries.client, platform: 'neutral', target: 'es2022', external: ['react'], chunkNames: 'shared-client-[hash]' }),
  ]).catch(() => process.exit(1));

  // What the compiled JavaScript imports at run time must be installed with it.
  const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2) : spec.split('/').slice(0, 1)).join('/');
  const isBuiltin = (spec) => spec.startsWith('node:') || builtinModules.includes(packageOf(spec));
  const externals = (result) => new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
  for (const spec of externals(server)) {
    if (!isBuiltin(spec) && !pkg.dependencies?.[packageOf(spec)]) fail(`lib imports "${spec}" at run time: add ${packageOf(spec)} to dependencies`);
  }
  for (const spec of externals(client)) {
    if (spec !== 'react') fail(`the client entries import "${spec}": they must run in a browser with nothing but react (a peer)`);
  }
  // The one server module the client shares: the close and error codes (it imports nothing).
  const shared = new Set(['server/socket/errors.ts']);
  const serverCode = Object.keys(client.metafile.inputs).filter((f) => !f.startsWith('client/') && !shared.has(f));
  if (serverCode.length > 0) {
    const named = serverCode.slice(0, 5).join(', ') + (serverCode.length > 5 ? ` and ${serverCode.length - 5} more` : '');
    fail(`the client entries bundle ${named}: import server modules (and zod) with \`import type\``);
  }

  emitDeclarations({ ...entries.server, ...entries.client }, declared, fail);

  const files = readdirSync('lib', { recursive: true }).filter((f) => statSync(join('lib', f)).isFile());
  const jsBytes = files.filter((f) => f.endsWith('.js')).reduce((n, f) => n + statSync(join('lib', f)).size, 0);
  console.log(`lib/: ${files.length} files, ${Math.round(jsBytes / 1024)} KiB of JavaScript (${Date.now() - started} ms)`);
}

/**
 * tsc writes lib/types/ (tsconfig.lib.json); then every relative specifier gets its `.js` (or
 * `/index.js`), which moduleResolution node16 requires in ESM declarations and bundler accepts;
 * files no entry reaches are dropped; each lib/<entry>.d.ts re-exports its entry's declarations.
 * A bare specifier must name a dependency or peer that brings its types (or its @types/ package).
 */
function emitDeclarations(entries, declared, fail) {
  try {
    execFileSync(join('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.lib.json'], { stdio: 'inherit' });
  } catch {
    fail('tsc -p tsconfig.lib.json failed (above)');
  }
  const root = resolve('lib/types');
  const specifier = /(\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\2/gm;
  const typed = new Map();
  const hasOwnTypes = (name) => {
    if (!typed.has(name)) {
      const dir = join('node_modules', name);
      const manifest = existsSync(join(dir, 'package.json')) ? readFileSync(join(dir, 'package.json'), 'utf8') : '{}';
      const { types, typings, exports } = JSON.parse(manifest);
      typed.set(name, Boolean(types || typings || JSON.stringify(exports ?? {}).includes('"types"') || existsSync(join(dir, 'index.d.ts'))));
    }
    return typed.get(name);
  };
  const needed = new Map(); // dependency → a declaration that needs it

  const reached = new Set();
  const visit = (file) => {
    if (reached.has(file)) return;
    reached.add(file);
    const bare = [];
    const text = readFileSync(file, 'utf8').replace(specifier, (all, lead, quote, spec) => {
      if (!spec.startsWith('.')) {
        bare.push(spec);
        return all;
      }
      const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
      const [target, rewritten] = existsSync(`${base}.d.ts`)
        ? [`${base}.d.ts`, `${spec.replace(/\.js$/, '')}.js`]
        : existsSync(join(base, 'index.d.ts'))
          ? [join(base, 'index.d.ts'), `${spec.replace(/\/$/, '')}/index.js`]
          : fail(`${relative('.', file)}: cannot resolve "${spec}"`);
      visit(target);
      return `${lead}${quote}${rewritten}${quote}`;
    });
    writeFileSync(file, text);
    for (const spec of bare) {
      const name = spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]) ? '@types/node' : spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const dep = name.startsWith('@types/') || hasOwnTypes(name) ? name : `@types/${name.replace(/^@([^/]+)\//, '$1__')}`;
      if (!needed.has(dep)) needed.set(dep, relative('.', file));
    }
  };
  // lib/<name>.d.ts ← lib/types/<the entry's source path>.d.ts
  const typesOf = Object.fromEntries(Object.entries(entries).map(([name, source]) => [name, source.replace(/^\.\//, '').replace(/\.ts$/, '')]));
  for (const name in typesOf) visit(join(root, `${typesOf[name]}.d.ts`));
  for (const [dep, file] of needed) {
    if (!declared.has(dep)) fail(`${file} needs the types of ${dep}: add it to dependencies (or peerDependencies), or a dependency that brings it`);
  }

  // Drop what no entry reaches (the repo's app and examples, internals behind a type).
  for (const rel of readdirSync(root, { recursive: true })) {
    const file = join(root, rel);
    if (statSync(file).isFile() && !reached.has(file)) rmSync(file);
  }
  for (const rel of readdirSync(root, { recursive: true }).sort().reverse()) {
    const dir = join(root, rel);
    if (statSync(dir).isDirectory() && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
  }
  for (const name in typesOf) {
    const server = typesOf[name].startsWith('server/');
    // The server's declarations import node: modules; the reference loads @types/node even when a
    // consumer's tsconfig lists `types` without it.
    writeFileSync(`lib/${name}.d.ts`, `${server ? '/// <reference types="node" />\n' : ''}export * from './types/${typesOf[name]}.js';\n`);
  }
}
