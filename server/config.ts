import { z } from 'zod';
import { proxyTrust, type TrustProxy } from './socket/client-address';
import { limitList, mapLimits, type Limit, type LimitEnv, type SocketLimits } from './socket/limits';

/**
 * Environment → typed config, validated once at start; a bad value stops the process with a
 * message naming the variable. Each variable is written once: in envSchema with its bounds,
 * default and doc line (`.describe`), or, for the socket service's limits, in socket/limits.ts.
 * The README's Configuration table repeats them; test/config-docs.test.ts keeps it true.
 */
const int = (min: number, def: number) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A secret nobody must guess: long enough that brute force is pointless. Empty means unset. */
const secret = (what: string) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, `${what} must be at least 16 characters`).optional());

/** TRUST_PROXY: a hop count, or a comma list of addresses, CIDR ranges and proxy-addr names. */
const trustProxy = z
  .string()
  .transform((v, ctx): TrustProxy | undefined => {
    const value = v.trim();
    if (value === 'false') return undefined;
    if (value === 'true') {
      ctx.addIssue({ code: 'custom', message: 'true would believe any X-Forwarded-For: give a hop count or the proxies\' addresses (e.g. loopback)' });
      return z.NEVER;
    }
    const trust = /^\d+$/.test(value) ? Number(value) : value.split(',').map((a) => a.trim()).filter(Boolean);
    try {
      proxyTrust(trust);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `expected a hop count or addresses/CIDR ranges/loopback,linklocal,uniquelocal: ${(err as Error).message}` });
      return z.NEVER;
    }
    return trust;
  })
  .optional();

/** A limit of socket/limits.ts as an env var: its bounds, default and doc line. */
function limitSchema(l: Limit) {
  let n = z.coerce.number();
  if (l.integer !== false) n = n.int();
  n = l.minExclusive ? n.gt(l.min) : n.min(l.min);
  if (l.max !== undefined) n = n.max(l.max);
  return n.default(l.default).describe(l.doc);
}
const limitEnv = Object.fromEntries(limitList.map((l) => [l.env, limitSchema(l)])) as Record<LimitEnv, ReturnType<typeof limitSchema>>;

/** Presence entries one reap script call handles at most (CLUSTER_REAP_BATCH): a call of 1–2 ms (docs/scaling.md). */
export const clusterReapBatchDefault = 1000;

/**
 * On a Redis Cluster: how long a command waits out a failover (REDIS_CLUSTER_FAILOVER_WAIT_MS;
 * Redis's default cluster-node-timeout alone is 15 s), and how often the sharded subscriber reads
 * the slot map (REDIS_CLUSTER_SLOTS_REFRESH_MS; docs/cluster.md says why it must).
 */
export const redisClusterDefaults = { failoverWaitMs: 60_000, slotsRefreshMs: 2000 } as const;

/** Every variable, its bounds, default and doc line (the README's text). */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8100).describe('HTTP port'),
  HOST: z.string().min(1).default('0.0.0.0').describe('interface to listen on'),
  TRUST_PROXY: trustProxy.describe(
    "reverse proxies trusted to say who the client is: a hop count (`1`), or a comma list of addresses, CIDR ranges and `loopback`, `linklocal`, `uniquelocal`. The client's address (per-address cap, admin lockout, the admin's connection table) then comes from `X-Forwarded-For`, and cookies get `Secure` when `X-Forwarded-Proto` is `https`. Unset: the TCP peer, and `X-Forwarded-*` is never read. `true` is refused. Set, it closes the loopback-only admin: set `ADMIN_TOKEN` (docs/security.md)",
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe(
    'pino level: fatal, error, warn, info, debug, trace, silent',
  ),
  NODE_ID: z.string().regex(/^[\w.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -').optional().describe("this node's id in status output"),
  SESSION_SECRET: z.string().min(16, 'expected at least 16 characters').optional().describe(
    'signs the anonymous guest cookie (≥ 16 chars); unset: generated once and kept in `DATA_DIR/session-secret` with the durable store (guests keep their identity across restarts), else random per process. Set it for a cluster: every node must verify the same cookies',
  ),
  WS_ENABLED: bool(true).describe('`false` creates no socket service and registers no socket route'),
  EXAMPLES_ENABLED: bool(true).describe('`false`: createApp mounts no example page and no example socket route (`npm start` shows them by default)'),
  // Every limit of the socket service, from its one table (socket/limits.ts).
  ...limitEnv,
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://… or rediss://…').optional().describe(
    '`redis://…` or `rediss://…`: join the cluster on that Redis (delivery, presence, history, status, feature state); unset: one node, delivery in memory and feature state in `STORE`',
  ),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^(?:[^\s,:[\]]+|\[[\da-fA-F:.]+\]):\d{1,5}(?:,(?:[^\s,:[\]]+|\[[\da-fA-F:.]+\]):\d{1,5})*$/, 'expected host:port,host:port,…')
    .transform((v) => v.split(','))
    .optional()
    .describe(
      '`host:port,host:port,…`, some nodes of a Redis Cluster (Redis 7; ioredis finds the rest): join the cluster on it, channels over sharded pub/sub (docs/cluster.md, "Redis Cluster"). Excludes `REDIS_URL`',
    ),
  STORE: z.enum(['durable', 'memory']).default('durable').describe(
    "where a single node (neither `REDIS_URL` nor `REDIS_CLUSTER_NODES`) keeps the examples' state: `durable`, an embedded database (LMDB) in `DATA_DIR`, written through, that survives restarts; `memory`: lost on restart. `createApp` called from code uses memory unless given `store: 'durable'`",
  ),
  DATA_DIR: z.string().min(1).default('./data').describe(
    'directory of the durable store (`state.mdb`) and of the generated session secret; created when missing',
  ),
  DATA_MAX_MB: int(0, 256).describe(
    'MiB of state (as JSON) the durable store keeps: past it the least recently written keys are deleted, down to 90 % (`0`: no bound). docs/examples.md says what is kept',
  ),
  REDIS_PREFIX: z.string().regex(/^[\w:.-]{1,32}$/, 'expected 1-32 letters, digits, _ : . or -').default('wsf:').describe(
    'prefix of every Redis key and topic; deployments sharing one Redis need different ones',
  ),
  CLUSTER_HEARTBEAT_MS: int(100, 2000).describe('how often a node marks itself alive and looks for dead nodes'),
  CLUSTER_NODE_TTL_MS: int(300, 10_000).describe(
    "a node silent this long is dead: it leaves cluster status and its users' presence is reaped; at least twice `CLUSTER_HEARTBEAT_MS`",
  ),
  REDIS_CLUSTER_FAILOVER_WAIT_MS: int(0, redisClusterDefaults.failoverWaitMs).describe(
    "with `REDIS_CLUSTER_NODES`: how long a command to a master that is down waits, retried every 200 ms, for its replica's promotion; a failover longer than this loses the publishes waiting (docs/cluster.md)",
  ),
  REDIS_CLUSTER_SLOTS_REFRESH_MS: int(100, redisClusterDefaults.slotsRefreshMs).describe(
    'with `REDIS_CLUSTER_NODES`: how often the sharded subscriber reads the slot map; after a slot move, delivery resumes within this, the gap read from history (docs/cluster.md)',
  ),
  CLUSTER_REAP_BATCH: int(1, clusterReapBatchDefault).describe(
    "a dead node's presence is reaped in script calls of at most this many entries each (users taken out, and the presence entries of the channels read); Redis runs nothing else during a call, so this bounds how long a reap blocks it (docs/scaling.md)",
  ),
  NODE_ENV: z.string().optional().describe('`production`: localhost origins are no longer allowed unless they are the `Host`'),
  JWT_SECRET: z.string().min(32, 'expected at least 32 characters for HS256').optional().describe(
    'HS256 secret (32+ characters) verifying tokens on routes that require a credential; with neither it nor `JWT_JWKS_URL` such routes answer 401 (docs/security.md)',
  ),
  JWT_JWKS_URL: z.url({ message: 'expected a URL (https:// outside development)' }).optional().describe(
    'URL of a JSON Web Key Set for asymmetric tokens (RS256, PS256, ES256, ES384, EdDSA); `JWT_SECRET` wins if both are set',
  ),
  JWT_ISSUER: z.string().min(1).optional().describe('required `iss` claim (unset: not checked)'),
  JWT_AUDIENCE: z.string().min(1).optional().describe('required `aud` claim (unset: not checked)'),
  WS_ALLOWED_ORIGINS: z.string().optional().describe(
    "comma-separated browser origins allowed to open sockets besides the page's own (`*`: any); others get 403",
  ),
  ADMIN_TOKEN: secret('ADMIN_TOKEN').describe(
    'credential (16+ characters) for /admin, its socket and /metrics: `Authorization: Bearer` or the sign-in form; unset: loopback peers only',
  ),
  ADMIN_API_KEY: secret('ADMIN_API_KEY').describe('bearer key (16+ characters) of `POST /api/sockets/publish` and `/disconnect`; unset: that API answers 403'),
  ADMIN_SESSION_HOURS: z.coerce.number().int().min(1).max(720).default(12).describe('how long an admin sign-in (cookie) lasts, 1–720'),
  ADMIN_MAX_FAILURES: int(1, 10).describe('wrong admin tokens or API keys (header, sign-in form, admin socket) from one client address before it gets 429'),
  ADMIN_LOCKOUT_MS: int(1000, 15 * 60_000).describe(
    'how long a locked-out address waits, counted from its last failure; failures older than this are forgotten',
  ),
  ADMIN_STATUS_INTERVAL_MS: int(100, 1000).describe('how often open admin pages get fresh counters and tables'),
  ADMIN_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(50).describe(
    "rows per page in the admin's tables (searched and paged on the server), 1–1000",
  ),
  ADMIN_TAP_BATCH_MS: int(20, 200).describe('how often the tap sends collected frames to each tap page'),
  ADMIN_TAP_BATCH_MAX: int(1, 200).describe('most tap entries per batch and page; the rest are counted as dropped'),
  ADMIN_TAP_ROWS: int(10, 500).describe('rows the tap page keeps in the browser'),
  MONITOR_INTERVAL_MS: int(100, 1000).describe('system monitor example: how often it samples while someone watches'),
  MONITOR_HISTORY: z.coerce.number().int().min(1).max(3600).default(60).describe('system monitor: samples kept in memory (per node) for late joiners'),
  MONITOR_CPU_ALERT_PERCENT: z.coerce.number().min(0).default(80).describe(
    'system monitor: alert when the process uses at least this much CPU, in % of one core',
  ),
  MONITOR_LAG_ALERT_MS: z.coerce.number().min(0).default(100).describe("system monitor: alert when the event loop's p99 lag over an interval reaches this"),
  MONITOR_RSS_ALERT_MB: z.coerce.number().min(0).default(1024).describe('system monitor: alert when the resident set size reaches this many MiB'),
}).superRefine((e, ctx) => {
  // A TTL of one heartbeat or less would have live nodes reap each other between two beats.
  if (e.CLUSTER_NODE_TTL_MS < 2 * e.CLUSTER_HEARTBEAT_MS) {
    ctx.addIssue({ code: 'custom', path: ['CLUSTER_NODE_TTL_MS'], message: `must be at least twice CLUSTER_HEARTBEAT_MS (${e.CLUSTER_HEARTBEAT_MS})` });
  }
});

export interface Config {
  port: number;
  host: string;
  /** Proxies trusted to tell the client's address and protocol (X-Forwarded-For/-Proto); unset: none. */
  trustProxy?: TrustProxy;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  nodeId?: string;
  /**
   * Signs guest cookies. Unset: generated and kept in `dataDir` when the durable store is used
   * (guests keep their identity across restarts), else random per process.
   */
  sessionSecret?: string;
  /**
   * Where a single node keeps feature state: `durable` (LMDB in `dataDir`, survives restarts) or
   * `memory`. Ignored with `cluster` (Redis) or an explicit `store` option of createApp. From the
   * environment (STORE) the default is `durable`; for createApp called from code, `memory`.
   */
  store: 'durable' | 'memory';
  /** The durable store's directory and the generated session secret's (DATA_DIR). */
  dataDir: string;
  /** Bytes of state the durable store keeps before evicting the least recently written keys; 0: no bound. */
  dataMaxBytes: number;
  wsEnabled: boolean;
  /** createApp mounts the example pages and their socket routes (EXAMPLES_ENABLED). */
  examplesEnabled: boolean;
  /**
   * Set → several nodes share delivery, presence, history and feature state over Redis: one server
   * (`redisUrl`, REDIS_URL) or a Redis Cluster (`clusterNodes`, `host:port` each, REDIS_CLUSTER_NODES).
   */
  cluster?: ({ redisUrl: string; clusterNodes?: undefined } | { clusterNodes: string[]; redisUrl?: undefined }) & {
    prefix: string;
    heartbeatMs: number;
    nodeTtlMs: number;
    reapBatch?: number;
    /** Redis Cluster only (REDIS_CLUSTER_FAILOVER_WAIT_MS, REDIS_CLUSTER_SLOTS_REFRESH_MS). */
    failoverWaitMs?: number;
    slotsRefreshMs?: number;
  };
  /** JWT verification for socket routes that require a credential; unset → only anonymous routes accept connections. */
  jwt?: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  /** Exact browser origins allowed besides the page's own (`*` for any); localhost is allowed too unless NODE_ENV=production. */
  allowedOrigins: string[];
  allowLocalhostOrigins: boolean;
  /** The socket service's limits (socket/limits.ts), each set by its env var. */
  socket: SocketLimits;
  admin: {
    /** Credential for the admin pages, their socket and /metrics; unset: loopback peers only. */
    token?: string;
    /** Bearer key of POST /api/sockets/*; unset: that API is disabled. */
    apiKey?: string;
    /** How long a login (the admin cookie) lasts. */
    sessionHours: number;
    /** Wrong admin tokens or API keys from one client address before it is locked out (429). */
    maxFailures: number;
    /** How long a lockout lasts, counted from the last failure; failures older than this are forgotten. */
    lockoutMs: number;
    /** How often open admin pages get fresh counts, channels and connections. */
    statusIntervalMs: number;
    /** Rows per page in the admin's connection, channel and member tables. */
    pageSize: number;
    /** How often the tap sends its collected frames to each viewer. */
    tapBatchMs: number;
    /** Most tap entries one viewer gets per batch; the rest are counted as dropped. */
    tapBatchMax: number;
    /** Rows the tap page keeps in the browser; older ones are removed. */
    tapRows: number;
  };
  /** The system monitor example (/examples/monitor): sampling and alert thresholds. */
  monitor: {
    /** How often the monitor samples while someone watches. */
    intervalMs: number;
    /** Samples kept in memory (per node) for late joiners. */
    historySize: number;
    /** Alert when the process uses at least this much CPU, in % of one core. */
    cpuAlertPercent: number;
    /** Alert when the event loop's p99 lag over an interval reaches this, in ms. */
    lagAlertMs: number;
    /** Alert when the resident set size reaches this, in MiB. */
    rssAlertMb: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // `PORT=` in a shell or .env file means "not set", not "port 0".
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError('invalid configuration:\n  REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis, or REDIS_CLUSTER_NODES for a Redis Cluster');
  }
  const redis = e.REDIS_URL ? { redisUrl: e.REDIS_URL } : e.REDIS_CLUSTER_NODES && { clusterNodes: e.REDIS_CLUSTER_NODES };
  return {
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    nodeId: e.NODE_ID,
    sessionSecret: e.SESSION_SECRET,
    store: e.STORE,
    dataDir: e.DATA_DIR,
    dataMaxBytes: e.DATA_MAX_MB * 1024 * 1024,
    jwt:
      e.JWT_SECRET || e.JWT_JWKS_URL
        ? { secret: e.JWT_SECRET, jwksUrl: e.JWT_JWKS_URL, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE }
        : undefined,
    allowedOrigins: (e.WS_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    allowLocalhostOrigins: e.NODE_ENV !== 'production',
    wsEnabled: e.WS_ENABLED,
    examplesEnabled: e.EXAMPLES_ENABLED,
    cluster: redis && {
      ...redis,
      prefix: e.REDIS_PREFIX,
      heartbeatMs: e.CLUSTER_HEARTBEAT_MS,
      nodeTtlMs: e.CLUSTER_NODE_TTL_MS,
      reapBatch: e.CLUSTER_REAP_BATCH,
      failoverWaitMs: e.REDIS_CLUSTER_FAILOVER_WAIT_MS,
      slotsRefreshMs: e.REDIS_CLUSTER_SLOTS_REFRESH_MS,
    },
    socket: mapLimits((l) => e[l.env]),
    admin: {
      token: e.ADMIN_TOKEN,
      apiKey: e.ADMIN_API_KEY,
      sessionHours: e.ADMIN_SESSION_HOURS,
      maxFailures: e.ADMIN_MAX_FAILURES,
      lockoutMs: e.ADMIN_LOCKOUT_MS,
      statusIntervalMs: e.ADMIN_STATUS_INTERVAL_MS,
      pageSize: e.ADMIN_PAGE_SIZE,
      tapBatchMs: e.ADMIN_TAP_BATCH_MS,
      tapBatchMax: e.ADMIN_TAP_BATCH_MAX,
      tapRows: e.ADMIN_TAP_ROWS,
    },
    monitor: {
      intervalMs: e.MONITOR_INTERVAL_MS,
      historySize: e.MONITOR_HISTORY,
      cpuAlertPercent: e.MONITOR_CPU_ALERT_PERCENT,
      lagAlertMs: e.MONITOR_LAG_ALERT_MS,
      rssAlertMb: e.MONITOR_RSS_ALERT_MB,
    },
  };
}

/** Config from an empty environment: every default. */
const defaultConfig: Config = loadConfig({});

/** Options for createApp: any part of Config, socket and admin settings merged field by field. */
export type ConfigInput = Partial<Omit<Config, 'monitor' | 'socket' | 'admin'>> & { socket?: Partial<Config['socket']>; admin?: Partial<Config['admin']> } & { monitor?: Partial<Config['monitor']> };

/**
 * Defaults with `input` over them; a field given as undefined keeps its default. The one default
 * that differs from the environment's: `store` is `memory` unless asked for (programmatic callers,
 * tests, keep nothing on disk; `npm start` passes the environment's config, `durable` by default).
 */
export function resolveConfig(input: ConfigInput = {}): Config {
  return {
    ...defaultConfig,
    store: 'memory',
    ...defined(input),
    socket: { ...defaultConfig.socket, ...defined(input.socket) },
    monitor: { ...defaultConfig.monitor, ...defined(input.monitor) },
    admin: { ...defaultConfig.admin, ...defined(input.admin) },
  };
}

/** The fields of `o` that are not undefined. */
export function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
