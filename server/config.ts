import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { proxyTrust, type TrustProxy } from './socket/client-address';
import type { RateLimit } from './socket/rate-limit';
import { serviceDefaults } from './socket/service';

/**
 * Environment → typed config, validated once at start. Every variable is listed in the README
 * with its default; a bad value stops the process with a message naming the variable.
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

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8100),
  HOST: z.string().min(1).default('0.0.0.0'),
  TRUST_PROXY: trustProxy,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ID: z.string().regex(/^[\w.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -').optional(),
  SESSION_SECRET: z.string().min(16, 'expected at least 16 characters').optional(),
  WS_ENABLED: bool(true),
  WS_MAX_PAYLOAD: int(1, serviceDefaults.maxPayload),
  WS_MAX_BUFFERED: int(1, serviceDefaults.maxBufferedBytes),
  WS_PING_INTERVAL_MS: int(100, serviceDefaults.pingIntervalMs),
  WS_SHUTDOWN_TIMEOUT_MS: int(0, serviceDefaults.shutdownTimeoutMs),
  WS_CLOSE_GRACE_MS: int(0, serviceDefaults.closeGraceMs),
  WS_INBOX_LIMIT: int(1, serviceDefaults.inboxLimit),
  WS_MAX_CHANNELS_PER_CONNECTION: int(1, serviceDefaults.maxChannelsPerConnection),
  WS_MAX_CHANNEL_NAME_LENGTH: int(1, serviceDefaults.maxChannelNameLength),
  WS_HISTORY_SIZE: int(0, serviceDefaults.historySize),
  WS_HISTORY_TTL_MS: int(1000, serviceDefaults.historyTtlMs),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://… or rediss://…').optional(),
  REDIS_PREFIX: z.string().regex(/^[\w:.-]{1,32}$/, 'expected 1-32 letters, digits, _ : . or -').default('wsf:'),
  CLUSTER_HEARTBEAT_MS: int(100, 2000),
  CLUSTER_NODE_TTL_MS: int(300, 10_000),
  CLUSTER_STATUS_TIMEOUT_MS: int(10, serviceDefaults.clusterStatusTimeoutMs),
  NODE_ENV: z.string().optional(),
  JWT_SECRET: z.string().min(32, 'expected at least 32 characters for HS256').optional(),
  JWT_JWKS_URL: z.url({ message: 'expected a URL (https:// outside development)' }).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  WS_ALLOWED_ORIGINS: z.string().optional(),
  WS_MAX_CONNECTIONS_PER_IP: int(1, serviceDefaults.maxConnectionsPerIp),
  WS_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(serviceDefaults.rateLimit.perSecond),
  WS_RATE_LIMIT_BURST: int(1, serviceDefaults.rateLimit.burst),
  WS_RATE_LIMIT_STRIKES: int(1, serviceDefaults.rateLimit.maxStrikes),
  WS_AUTH_TIMEOUT_MS: int(100, serviceDefaults.authTimeoutMs),
  WS_TOKEN_WARN_MS: int(0, serviceDefaults.tokenWarnMs),
  ADMIN_TOKEN: secret('ADMIN_TOKEN'),
  ADMIN_API_KEY: secret('ADMIN_API_KEY'),
  ADMIN_SESSION_HOURS: z.coerce.number().int().min(1).max(720).default(12),
  ADMIN_MAX_FAILURES: int(1, 10),
  ADMIN_LOCKOUT_MS: int(1000, 15 * 60_000),
  ADMIN_STATUS_INTERVAL_MS: int(100, 1000),
  ADMIN_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
  ADMIN_TAP_BATCH_MS: int(20, 200),
  ADMIN_TAP_BATCH_MAX: int(1, 200),
  ADMIN_TAP_ROWS: int(10, 500),
  MONITOR_INTERVAL_MS: int(100, 1000),
  MONITOR_HISTORY: z.coerce.number().int().min(1).max(3600).default(60),
  MONITOR_CPU_ALERT_PERCENT: z.coerce.number().min(0).default(80),
  MONITOR_LAG_ALERT_MS: z.coerce.number().min(0).default(100),
  MONITOR_RSS_ALERT_MB: z.coerce.number().min(0).default(1024),
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
  /** Signs guest cookies; random per process when unset (guests then change identity on restart). */
  sessionSecret: string;
  wsEnabled: boolean;
  /** Set → several nodes share delivery, presence, history and feature state over Redis. */
  cluster?: { redisUrl: string; prefix: string; heartbeatMs: number; nodeTtlMs: number };
  /** JWT verification for socket routes that require a credential; unset → only anonymous routes accept connections. */
  jwt?: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  /** Exact browser origins allowed besides the page's own (`*` for any); localhost is allowed too unless NODE_ENV=production. */
  allowedOrigins: string[];
  allowLocalhostOrigins: boolean;
  socket: {
    maxPayload: number;
    maxBufferedBytes: number;
    pingIntervalMs: number;
    shutdownTimeoutMs: number;
    closeGraceMs: number;
    inboxLimit: number;
    maxChannelsPerConnection: number;
    maxChannelNameLength: number;
    historySize: number;
    historyTtlMs: number;
    clusterStatusTimeoutMs: number;
    maxConnectionsPerIp: number;
    rateLimit: RateLimit;
    authTimeoutMs: number;
    tokenWarnMs: number;
  };
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
  return {
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    nodeId: e.NODE_ID,
    sessionSecret: e.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    jwt:
      e.JWT_SECRET || e.JWT_JWKS_URL
        ? { secret: e.JWT_SECRET, jwksUrl: e.JWT_JWKS_URL, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE }
        : undefined,
    allowedOrigins: (e.WS_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    allowLocalhostOrigins: e.NODE_ENV !== 'production',
    wsEnabled: e.WS_ENABLED,
    cluster: e.REDIS_URL ? { redisUrl: e.REDIS_URL, prefix: e.REDIS_PREFIX, heartbeatMs: e.CLUSTER_HEARTBEAT_MS, nodeTtlMs: e.CLUSTER_NODE_TTL_MS } : undefined,
    socket: {
      maxPayload: e.WS_MAX_PAYLOAD,
      maxBufferedBytes: e.WS_MAX_BUFFERED,
      pingIntervalMs: e.WS_PING_INTERVAL_MS,
      shutdownTimeoutMs: e.WS_SHUTDOWN_TIMEOUT_MS,
      closeGraceMs: e.WS_CLOSE_GRACE_MS,
      inboxLimit: e.WS_INBOX_LIMIT,
      maxChannelsPerConnection: e.WS_MAX_CHANNELS_PER_CONNECTION,
      maxChannelNameLength: e.WS_MAX_CHANNEL_NAME_LENGTH,
      historySize: e.WS_HISTORY_SIZE,
      historyTtlMs: e.WS_HISTORY_TTL_MS,
      clusterStatusTimeoutMs: e.CLUSTER_STATUS_TIMEOUT_MS,
      maxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
      rateLimit: { perSecond: e.WS_RATE_LIMIT_PER_SECOND, burst: e.WS_RATE_LIMIT_BURST, maxStrikes: e.WS_RATE_LIMIT_STRIKES },
      authTimeoutMs: e.WS_AUTH_TIMEOUT_MS,
      tokenWarnMs: e.WS_TOKEN_WARN_MS,
    },
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
export const defaultConfig: Config = loadConfig({});

/** Options for createApp: any part of Config, socket and admin settings merged field by field. */
export type ConfigInput = Partial<Omit<Config, 'monitor' | 'socket' | 'admin'>> & { socket?: Partial<Config['socket']>; admin?: Partial<Config['admin']> } & { monitor?: Partial<Config['monitor']> };

export function resolveConfig(input: ConfigInput = {}): Config {
  return {
    ...defaultConfig,
    ...input,
    socket: { ...defaultConfig.socket, ...input.socket },
    monitor: { ...defaultConfig.monitor, ...input.monitor },
    admin: { ...defaultConfig.admin, ...input.admin },
  };
}
