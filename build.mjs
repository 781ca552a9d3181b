// Bundles the browser client, the page scripts and the server with esbuild. No type checking
// here (npm test runs tsc): the build stays fast. `node build.mjs --watch` rebuilds on change.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/** The core client bundle must stay below this many bytes, minified and gzipped. */
const clientBudget = 4096;
const watch = process.argv.includes('--watch');

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
}
