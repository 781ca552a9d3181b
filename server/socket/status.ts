import type { Session } from './session';

/** Traffic counters, kept per connection and summed on demand (nothing shared on the hot path). */
export class Counters {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;

  /** Adds another's counts: a Counters, or a Connection (which keeps its own as fields). */
  add(o: CountersJSON): this {
    this.messagesIn += o.messagesIn;
    this.messagesOut += o.messagesOut;
    this.bytesIn += o.bytesIn;
    this.bytesOut += o.bytesOut;
    this.errors += o.errors;
    return this;
  }

  toJSON(): CountersJSON {
    const { messagesIn, messagesOut, bytesIn, bytesOut, errors } = this;
    return { messagesIn, messagesOut, bytesIn, bytesOut, errors };
  }
}
export interface CountersJSON {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
}

export interface ConnectionStatus extends CountersJSON {
  id: string;
  node: string;
  profile: { id: string; name: string };
  /** Path of the socket route the connection came in through. */
  route: string;
  channel: string;
  channels: string[];
  remoteAddress: string;
  userAgent: string;
  started: number;
  lastActivity: number;
}

export interface ChannelStatus {
  key: string;
  members: number;
  users: number;
}

/** Other nodes' statuses, gathered over the bus. */
export interface RemoteStatus {
  statuses: Status[];
  /** Live nodes (by heartbeat) that did not answer in time: what they hold is not in `statuses`. */
  missing: string[];
}

/** `Sockets.clusterStatus()`: every node's status merged. */
export interface ClusterStatus extends Status {
  /** The nodes whose status is in here, this one first. */
  nodes: string[];
  /** Live nodes that did not answer within CLUSTER_STATUS_TIMEOUT_MS: their connections are missing. */
  missing: string[];
}

/** What `Sockets.status()` returns: plain JSON for the admin pages and /admin/sockets.json. */
export interface Status {
  node: string;
  startedAt: number;
  uptimeMs: number;
  counts: CountersJSON & { connections: number; channels: number };
  channels: ChannelStatus[];
  connections: ConnectionStatus[];
}

/** One connection's row in status output. */
export function connectionStatus(s: Session, node: string): ConnectionStatus {
  return {
    id: s.id,
    node,
    profile: s.profile,
    route: s.route,
    channel: s.channel,
    channels: [...s.channels],
    remoteAddress: s.remoteAddress,
    userAgent: s.userAgent,
    started: s.started,
    lastActivity: s.lastActivity,
    messagesIn: s.messagesIn,
    messagesOut: s.messagesOut,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    errors: s.errors,
  };
}

/**
 * status() of several nodes merged, this node's first: counts summed, channels merged by key,
 * all connections with their node; `missing` names the live nodes that did not answer in time.
 */
export function mergeStatuses(all: [Status, ...Status[]], missing: string[]): ClusterStatus {
  const channels = new Map<string, ChannelStatus>();
  const counts = { ...all[0].counts };
  for (const s of all.slice(1)) for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] += s.counts[k];
  for (const s of all) {
    for (const c of s.channels) {
      const m = channels.get(c.key);
      // Users may overlap between nodes; members do not.
      channels.set(c.key, m ? { key: c.key, members: m.members + c.members, users: Math.max(m.users, c.users) } : { ...c });
    }
  }
  counts.channels = channels.size;
  return {
    ...all[0],
    nodes: all.map((s) => s.node),
    missing,
    counts,
    channels: [...channels.values()],
    connections: all.flatMap((s) => s.connections),
  };
}
