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

/** `SocketService.clusterStatus()`: every node's status merged. */
export interface ClusterStatus extends Status {
  /** The nodes whose status is in here, this one first. */
  nodes: string[];
  /** Live nodes that did not answer within CLUSTER_STATUS_TIMEOUT_MS: their connections are missing. */
  missing: string[];
}

/** What `SocketService.status()` returns: plain JSON for the admin pages and /admin/sockets.json. */
export interface Status {
  node: string;
  startedAt: number;
  uptimeMs: number;
  counts: CountersJSON & { connections: number; channels: number };
  channels: ChannelStatus[];
  connections: ConnectionStatus[];
}
