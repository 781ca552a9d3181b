import { type ChannelStatus, type ClusterStatus, type ConnectionStatus, ErrorCode, type SocketError, type Sockets, type Status, type TapEntry } from '../server/socket';
import { page, type Page, type Query } from './paging';
import { findConnection } from './actions';

/** What the admin pages show, as pushed over the admin socket. Built on demand from the service. */
export interface Overview {
  node: string;
  /** Nodes counted in here. */
  nodes: string[];
  /** Live nodes that did not answer in time: their connections and counts are not in here. */
  missing: string[];
  uptimeMs: number;
  counts: Status['counts'];
  channels: Page<ChannelStatus>;
  connections: Page<ConnectionStatus>;
}

export interface ChannelSnapshot {
  key: string;
  /** Members on every node that answered, whatever the search. */
  memberCount: number;
  /** Distinct users among them. */
  users: number;
  members: Page<ConnectionStatus>;
  /** Live nodes that did not answer in time: their members are not in here. */
  missing: string[];
}

export interface ConnectionSnapshot {
  id: string;
  /** Null once the connection has gone (or never was on any node). */
  connection: ConnectionStatus | null;
}

export interface TapBatch {
  entries: TapEntry[];
  /** Entries left out of this batch because it was full (ADMIN_TAP_BATCH_MAX). */
  dropped: number;
}

/** `status` is shared by every viewer of one tick: read, never modified. */
export function overview(status: ClusterStatus, channels: Query, connections: Query, size: number): Overview {
  const busiestFirst = status.channels.toSorted((a, b) => b.members - a.members || a.key.localeCompare(b.key));
  return {
    node: status.node,
    nodes: status.nodes,
    missing: status.missing,
    uptimeMs: status.uptimeMs,
    counts: status.counts,
    channels: page(busiestFirst, channels, size, (c) => c.key),
    connections: page(status.connections.toReversed(), connections, size, searchText),
  };
}

/** A channel's members on every node, from the tick's shared cluster status. */
export async function channelSnapshot(key: string, members: Query, size: number, cluster: () => Promise<ClusterStatus>): Promise<ChannelSnapshot> {
  const status = await cluster();
  const newestFirst = status.connections.filter((c) => c.channels.includes(key)).sort((a, b) => b.started - a.started);
  return {
    key,
    memberCount: newestFirst.length,
    users: new Set(newestFirst.map((c) => c.profile.id)).size,
    members: page(newestFirst, members, size, searchText),
    missing: status.missing,
  };
}

/**
 * A connection on any node; `cluster` is the tick's shared cluster status, read only when the
 * connection is not here. Undefined when that cannot be told (a node did not answer in time):
 * the page then keeps what it shows rather than calling the connection closed.
 */
export async function connectionSnapshot(svc: Sockets, id: string, cluster: () => Promise<ClusterStatus>): Promise<ConnectionSnapshot | undefined> {
  try {
    return { id, connection: await findConnection(svc, id, cluster) };
  } catch (err) {
    if ((err as SocketError).code === ErrorCode.unknownConnection) return { id, connection: null };
    if ((err as SocketError).code === ErrorCode.nodeUnavailable) return undefined;
    throw err;
  }
}

/** What the search box looks in: ids, user, route, channels, address and user agent. */
function searchText(c: ConnectionStatus): string {
  return [c.id, c.profile.id, c.profile.name, c.route, c.remoteAddress, c.userAgent, ...c.channels].join('\n');
}
