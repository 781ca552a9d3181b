/**
 * The `wsforge` package: attach to an existing http(s) server, define protocols and handlers.
 * Everything here is the public API; the rest of server/ is the repo's own app and examples.
 */
export { attachSockets, type AttachOptions } from './attach';
export type { JwtOptions } from './socket/auth';
export type { TrustProxy } from './socket/client-address';
export * from './socket';
// The zod that protocols are validated with: a protocol needs no second, possibly mismatched, install.
export { z } from 'zod';
