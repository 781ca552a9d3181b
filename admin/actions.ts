import { z } from 'zod';
import { CloseCode, type ClusterStatus, connectionStatus, type ConnectionStatus, ErrorCode, SocketError, type Sockets } from '../server/socket';
import { builtinServerCmds, noticeLevels } from '../server/socket/message';

// What an admin (page or server API) can do to live connections. Shared by the admin socket and
// POST /api/sockets/*, so both check the same things and answer the same way.
// Failures are SocketErrors: error frames on the socket, 4xx on the API.

/** A frame an admin sends; its channel is checked against the service's limit, a notice's param against the notice frame. */
interface Outbound {
  channel: string;
  cmd: string;
  param: unknown;
}

/** The `notice` frame's param (server/socket/message.ts): what every example page shows as a notice. */
const noticeSchema = z.strictObject({ text: z.string().trim().min(1, 'text is required'), level: z.enum(noticeLevels).optional() });

/** Protocols whose server frames a page shows as its own content (a chat line with a name, a card, a cell), by name. */
export type ContentProtocols = Readonly<Record<string, { server: Readonly<Record<string, unknown>> }>>;

/**
 * Cmds the admin pages may not send, each with whose frame it is: the service's own frames, and
 * every server frame of the app's content protocols. A page would show those as its content, so
 * the admin could speak as a user or as the server; it sends a `notice` instead (docs/admin.md).
 */
export function reservedCmds(protocols: ContentProtocols): ReadonlyMap<string, string> {
  return new Map([
    ...[...builtinServerCmds].filter((cmd) => cmd !== 'notice').map((cmd) => [cmd, 'the service'] as const),
    ...Object.entries(protocols).flatMap(([name, p]) => Object.keys(p.server).map((cmd) => [cmd, `the ${name} protocol`] as const)),
  ]);
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
  checkNotice(frame);
  // Here: written to it (a connection leaves this node's registry when it closes). Elsewhere:
  // handed to its node through the bus, which does not confirm.
  const here = svc.getConnection(conn.id) ? 1 : 0;
  svc.writeConnection(conn.id, { channel, cmd: frame.cmd, param: frame.param });
  return { sent: true, here, elsewhere: 1 - here, missing: [] };
}

/** One frame to every member of a channel; answers how many members this node has there. */
export function publishToChannel(svc: Sockets, frame: Outbound): { members: number } {
  checkChannel(svc, frame.channel);
  checkNotice(frame);
  const members = svc.getConnectionsByChannel(frame.channel).length;
  svc.writeChannel({ channel: frame.channel, cmd: frame.cmd, param: frame.param });
  return { members };
}

/**
 * publishToChannel, for the admin pages: also counts the members on the other nodes, from the
 * cluster status (one bus round trip; with the in-process bus, this node's status).
 */
export async function publishCounted(svc: Sockets, frame: Outbound): Promise<{ members: number } & Delivery> {
  const { members } = publishToChannel(svc, frame);
  const status = await svc.clusterStatus();
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

/**
 * The admin pages' rule (the admin socket's send and publish; the server API is a trusted
 * service's and may send its app's frames): a reserved cmd is refused with invalid_param.
 */
export function checkAdminFrame(frame: Outbound, reserved: ReadonlyMap<string, string>): void {
  const owner = reserved.get(frame.cmd);
  if (owner) throw new SocketError(ErrorCode.invalidParam, `cmd "${frame.cmd}" is a frame of ${owner}, which the admin cannot send (the page would show it as its own content): send a notice instead`);
}

/** A notice must be one every page can show. */
function checkNotice(frame: Outbound): void {
  if (frame.cmd !== 'notice') return;
  const parsed = noticeSchema.safeParse(frame.param);
  if (!parsed.success) throw new SocketError(ErrorCode.invalidParam, `a notice's param is {"text": "…", "level"?: ${noticeLevels.map((l) => `"${l}"`).join(' | ')}}: ${parsed.error.issues[0]!.message}`);
}
