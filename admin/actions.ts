import { CloseCode, type ClusterStatus, connectionStatus, type ConnectionStatus, ErrorCode, SocketError, type Sockets } from '../server/socket';

// What an admin (page or server API) can do to live connections. Shared by the admin socket and
// POST /api/sockets/*, so both check the same things and answer the same way.
// Failures are SocketErrors: error frames on the socket, 4xx on the API.

/** A frame an admin sends; its channel is checked against the service's limit. */
interface Outbound {
  channel: string;
  cmd: string;
  param: unknown;
}

/**
 * How many connections a frame reached, as far as this node can tell: `here` were written to on
 * this node (open connections only), `elsewhere` were handed to other nodes through the bus
 * (not confirmed), `missing` live nodes did not answer the status in time (their share is unknown).
 */
export interface Delivery {
  here: number;
  elsewhere: number;
  missing: string[];
}

/** One frame to one connection, on any node; an empty channel means the connection's route channel. */
export async function sendToConnection(svc: Sockets, connId: string, frame: Outbound): Promise<{ sent: true } & Delivery> {
  const conn = await findConnection(svc, connId);
  const channel = frame.channel || conn.channel;
  checkChannel(svc, channel);
  // Here: written to it (a connection leaves this node's registry when it closes). Elsewhere:
  // handed to its node through the bus, which does not confirm.
  const here = svc.getConnection(conn.id) ? 1 : 0;
  svc.writeConnection(conn.id, { channel, cmd: frame.cmd, param: frame.param });
  return { sent: true, here, elsewhere: 1 - here, missing: [] };
}

/** One frame to every member of a channel; answers how many members this node has there. */
export function publishToChannel(svc: Sockets, frame: Outbound): { members: number } {
  checkChannel(svc, frame.channel);
  const members = svc.getConnectionsByChannel(frame.channel).length;
  svc.writeChannel({ channel: frame.channel, cmd: frame.cmd, param: frame.param });
  return { members };
}

/**
 * publishToChannel, for the admin pages: also counts the members on the other nodes, from the
 * cluster status (one bus round trip; with the in-process bus, this node's status).
 */
export async function publishCounted(svc: Sockets, frame: Outbound): Promise<{ members: number } & Delivery> {
  checkChannel(svc, frame.channel);
  const status = await svc.clusterStatus();
  const { members } = publishToChannel(svc, frame);
  const elsewhere = status.connections.filter((c) => c.node !== svc.node && c.channels.includes(frame.channel)).length;
  return { members, here: members, elsewhere, missing: status.missing };
}

/** Kicks one connection, on any node: `close-connection` with the reason, then close 4000 (the client does not reconnect). */
export async function kickConnection(svc: Sockets, connId: string, reason: string): Promise<{ disconnected: number }> {
  svc.disconnect((await findConnection(svc, connId)).id, CloseCode.kicked, reason);
  return { disconnected: 1 };
}

/**
 * Kicks every connection (every tab) of one user on every node, through the user's topic (so a
 * node that is slow to answer status still closes its tabs); answers how many tabs the cluster
 * status showed (zero when the user has none).
 */
export async function kickUser(svc: Sockets, userId: string, reason: string): Promise<{ disconnected: number }> {
  const tabs = (await svc.clusterStatus()).connections.filter((c) => c.profile.id === userId).length;
  svc.disconnectUser(userId, CloseCode.kicked, reason);
  return { disconnected: tabs };
}

/**
 * A connection's status wherever it lives: this node first, else the cluster's status (one bus
 * round trip). The write and disconnect calls then reach it through the bus. Not found:
 * `unknown_connection`, or `node_unavailable` when some live node did not answer in time.
 */
export async function findConnection(svc: Sockets, connId: string, cluster: () => Promise<ClusterStatus> = () => svc.clusterStatus()): Promise<ConnectionStatus> {
  const here = svc.getConnection(connId);
  if (here) return connectionStatus(here, svc.node);
  const status = await cluster();
  const found = status.connections.find((c) => c.id === connId);
  if (found) return found;
  if (status.missing.length > 0) {
    const nodes = status.missing.join(', ');
    throw new SocketError(ErrorCode.nodeUnavailable, `connection ${connId} not found, but node ${nodes} did not answer within CLUSTER_STATUS_TIMEOUT_MS: try again`);
  }
  throw new SocketError(ErrorCode.unknownConnection, `no connection ${connId} on any node`);
}

function checkChannel(svc: Sockets, channel: string): void {
  const max = svc.limits.maxChannelNameLength;
  if (channel.length > max) throw new SocketError(ErrorCode.invalidParam, `channel must be at most ${max} characters`);
}
