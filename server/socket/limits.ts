/**
 * Every limit of the socket service, once: its option name (the key, as in the service's options
 * and `Config.socket`), env var, default, bounds and doc line. The service's defaults, the config's
 * env schema, `Config.socket` and its loading all follow from this table; the doc line is the
 * README's Configuration row, word for word (test/config-docs.test.ts checks).
 *
 * Imports nothing, so any module (rate-limit.ts, history.ts, config.ts) can take its defaults from here.
 */
interface LimitSpec {
  /** The environment variable that sets it. */
  readonly env: string;
  readonly default: number;
  /** Smallest accepted value, inclusive (exclusive with `minExclusive`). */
  readonly min: number;
  readonly minExclusive?: boolean;
  /** Largest accepted value, inclusive; none when absent. */
  readonly max?: number;
  /** Whole numbers only; true unless said otherwise. */
  readonly integer?: boolean;
  /** What it limits: the README's text for the variable. */
  readonly doc: string;
}

/** The table: option name → spec, or a group of them (`rateLimit`, the service's nested option). */
interface LimitTable {
  readonly [option: string]: LimitSpec | LimitTable;
}

const socketLimits = {
  maxPayload: {
    env: 'WS_MAX_PAYLOAD',
    default: 64 * 1024,
    min: 1,
    doc: 'largest inbound frame in bytes; larger closes with 1009',
  },
  maxBufferedBytes: {
    env: 'WS_MAX_BUFFERED',
    default: 1024 * 1024,
    min: 1,
    doc: 'outbound bytes a connection may have buffered before it is closed as a slow consumer (4008)',
  },
  pingIntervalMs: {
    env: 'WS_PING_INTERVAL_MS',
    default: 25_000,
    min: 100,
    doc: 'server ping interval; a connection that has not answered by the next ping is terminated',
  },
  shutdownTimeoutMs: {
    env: 'WS_SHUTDOWN_TIMEOUT_MS',
    default: 5_000,
    min: 0,
    doc: 'how long graceful shutdown waits for clients to close before cutting them off',
  },
  closeGraceMs: {
    env: 'WS_CLOSE_GRACE_MS',
    default: 1_000,
    min: 0,
    doc: 'how long a server-initiated close (kick, slow consumer) waits for the peer',
  },
  inboxLimit: {
    env: 'WS_INBOX_LIMIT',
    default: 64,
    min: 1,
    doc: 'frames queued behind an async handler before the server stops reading that connection',
  },
  maxChannelsPerConnection: {
    env: 'WS_MAX_CHANNELS_PER_CONNECTION',
    default: 128,
    min: 1,
    doc: 'channels one connection may be in; more gets `limit_exceeded`',
  },
  maxChannelNameLength: {
    env: 'WS_MAX_CHANNEL_NAME_LENGTH',
    default: 128,
    min: 1,
    doc: 'longest channel name',
  },
  historySize: {
    env: 'WS_HISTORY_SIZE',
    default: 100,
    min: 0,
    doc: 'channel frames kept for resuming after a reconnect (`0`: no history, no positions)',
  },
  historyTtlMs: {
    env: 'WS_HISTORY_TTL_MS',
    default: 300_000,
    min: 1000,
    doc: 'how long a channel frame is kept for resuming; a channel quiet this long starts a new epoch',
  },
  presenceIntervalMs: {
    env: 'WS_PRESENCE_INTERVAL_MS',
    default: 200,
    min: 10,
    doc: 'how often a channel\'s joins and leaves are announced, together, as one `presence-diff` per member',
  },
  presenceListMax: {
    env: 'WS_PRESENCE_LIST_MAX',
    default: 100,
    min: 0,
    doc: 'users in a channel above which `presence-diff` carries the count only, and is sent less often as the channel grows (at most every `WS_PRESENCE_INTERVAL_MS` × users ÷ this); the chat example\'s user list follows it too',
  },
  writeDelayMs: {
    env: 'WS_WRITE_DELAY_MS',
    default: 0,
    min: 0,
    max: 1000,
    doc: 'how long frames to one connection are coalesced before they are written (routes may set their own `writeDelayMs`); `0`: written once the current I/O phase is done. More trades at most this much latency for fewer syscalls: see the Benchmark section',
  },
  clusterStatusTimeoutMs: {
    env: 'CLUSTER_STATUS_TIMEOUT_MS',
    default: 1_000,
    min: 10,
    doc: "how long cluster status waits for the other nodes' answers",
  },
  rateLimit: {
    perSecond: {
      env: 'WS_RATE_LIMIT_PER_SECOND',
      default: 50,
      min: 0,
      minExclusive: true,
      integer: false,
      doc: 'inbound frames per second per connection; excess frames get `rate_limited` and are not handled',
    },
    burst: {
      env: 'WS_RATE_LIMIT_BURST',
      default: 100,
      min: 1,
      doc: 'frames a connection may send at once',
    },
    maxStrikes: {
      env: 'WS_RATE_LIMIT_STRIKES',
      default: 250,
      min: 1,
      doc: 'refused frames (forgiven at `WS_RATE_LIMIT_PER_SECOND`) beyond which the connection is closed with 1008: reached by a client that keeps sending more than twice its budget',
    },
  },
  maxConnectionsPerIp: {
    env: 'WS_MAX_CONNECTIONS_PER_IP',
    default: 256,
    min: 1,
    doc: 'connections (open or being admitted) from one client address; more get 429. Behind a proxy, set `TRUST_PROXY` or this counts every client together',
  },
  adminConnectionsPerIp: {
    env: 'WS_ADMIN_CONNECTIONS_PER_IP',
    default: 16,
    min: 1,
    doc: "admin socket connections (open admin pages) from one client address, a reserve of their own: they do not count toward `WS_MAX_CONNECTIONS_PER_IP`, so a full cap does not lock the admin out; more get 429",
  },
  authTimeoutMs: {
    env: 'WS_AUTH_TIMEOUT_MS',
    default: 5_000,
    min: 100,
    doc: 'how long a connection on an `authInFirstMessage` route has to send `auth` (else 4001)',
  },
  tokenWarnMs: {
    env: 'WS_TOKEN_WARN_MS',
    default: 60_000,
    min: 0,
    doc: "how long before its token's `exp` a connection gets `token-expiring` (`0`: no warning); closed with 4001 at `exp` unless refreshed",
  },
  dedupeTtlMs: {
    env: 'WS_DEDUPE_TTL_MS',
    default: 120_000,
    min: 0,
    doc: 'how long the answer to a frame with an `id` is kept per user, so a retry of it (after a reconnect too) gets that answer instead of running again (`0`: no de-duplication)',
  },
  dedupeMaxIds: {
    env: 'WS_DEDUPE_MAX_IDS',
    default: 256,
    min: 1,
    doc: 'frame `id`s remembered per user within `WS_DEDUPE_TTL_MS`; past it the oldest is forgotten',
  },
  dedupePollMs: {
    env: 'WS_DEDUPE_POLL_MS',
    default: 50,
    min: 1,
    doc: 'in a cluster, while another node still runs the first copy of a retried frame, how often the retry asks the ledger for its answer',
  },
} as const satisfies LimitTable;

/** The values of a table: a number per limit, groups kept as nested objects. */
type Values<T> = { -readonly [K in keyof T]: T[K] extends LimitSpec ? number : Values<T[K]> };
/** Every spec of a table, groups flattened. */
type Specs<T> = { [K in keyof T]: T[K] extends LimitSpec ? T[K] : Specs<T[K]> }[keyof T];

/** The socket service's limits, as values: `{ maxPayload: number, …, rateLimit: { perSecond, burst, maxStrikes } }`. */
export type SocketLimits = Values<typeof socketLimits>;
/** The env var of each limit. */
export type LimitEnv = Specs<typeof socketLimits>['env'];

/** A limit's spec with its option path (`maxPayload`, `rateLimit.burst`). */
export type Limit = LimitSpec & { readonly option: string; readonly env: LimitEnv };

/** Every limit of the table, in its order, groups flattened (`rateLimit.perSecond`…). */
export const limitList: readonly Limit[] = flatten(socketLimits, '');

/** The table's shape with a value per limit: `mapLimits((l) => l.default)` is `socketDefaults`. */
export function mapLimits(value: (limit: Limit) => number): SocketLimits {
  const build = (table: LimitTable, prefix: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(table).map(([key, spec]) => [key, isSpec(spec) ? value({ ...spec, option: prefix + key } as Limit) : build(spec, `${prefix}${key}.`)]),
    );
  return build(socketLimits, '') as SocketLimits;
}

/** Every limit's default, in the shape of the service's options (nested `rateLimit` included). */
export const socketDefaults: SocketLimits = mapLimits((l) => l.default);

function flatten(table: LimitTable, prefix: string): Limit[] {
  return Object.entries(table).flatMap(([key, spec]) => (isSpec(spec) ? [{ ...spec, option: prefix + key } as Limit] : flatten(spec, `${prefix}${key}.`)));
}

function isSpec(entry: LimitSpec | LimitTable): entry is LimitSpec {
  return typeof entry.env === 'string';
}
