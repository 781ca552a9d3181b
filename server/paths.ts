import { fileURLToPath } from 'node:url';

/**
 * The package's root: one level above server/ (run from source), dist/ (`npm start`'s bundle)
 * and lib/ (the published package) alike. public/ (browser bundles, styles) is under it.
 */
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const publicDir = `${packageRoot}public`;
