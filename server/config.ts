import { randomBytes } from 'node:crypto';
import { z } from 'zod';
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

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8100),
  HOST: z.string().min(1).default('0.0.0.0'),
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
});

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  nodeId?: string;
  /** Signs guest cookies; random per process when unset (guests then change identity on restart). */
  sessionSecret: string;
  wsEnabled: boolean;
  socket: {
    maxPayload: number;
    maxBufferedBytes: number;
    pingIntervalMs: number;
    shutdownTimeoutMs: number;
    closeGraceMs: number;
    inboxLimit: number;
    maxChannelsPerConnection: number;
    maxChannelNameLength: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    nodeId: e.NODE_ID,
    sessionSecret: e.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    wsEnabled: e.WS_ENABLED,
    socket: {
      maxPayload: e.WS_MAX_PAYLOAD,
      maxBufferedBytes: e.WS_MAX_BUFFERED,
      pingIntervalMs: e.WS_PING_INTERVAL_MS,
      shutdownTimeoutMs: e.WS_SHUTDOWN_TIMEOUT_MS,
      closeGraceMs: e.WS_CLOSE_GRACE_MS,
      inboxLimit: e.WS_INBOX_LIMIT,
      maxChannelsPerConnection: e.WS_MAX_CHANNELS_PER_CONNECTION,
      maxChannelNameLength: e.WS_MAX_CHANNEL_NAME_LENGTH,
    },
  };
}

/** Config from an empty environment: every default. */
export const defaultConfig: Config = loadConfig({});

/** Options for createApp: any part of Config, socket limits merged field by field. */
export type ConfigInput = Partial<Omit<Config, 'socket'>> & { socket?: Partial<Config['socket']> };

export function resolveConfig(input: ConfigInput = {}): Config {
  return { ...defaultConfig, ...input, socket: { ...defaultConfig.socket, ...input.socket } };
}
