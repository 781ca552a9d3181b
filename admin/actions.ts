import { CloseCode, ErrorCode, SocketError } from '../server/socket/errors';
import type { SocketService } from '../server/socket/service';

// What an admin (page or server API) can do to live connections. Shared by the admin socket and
// POST /api/sockets/*, so both check the same things and answer the same way.
// Failures are SocketErrors: error frames on the socket, 4xx on the API.

/** A frame an admin sends; its channel is checked against the service's limit. */
interface Outbound {
  channel: string;
  cmd: string;
  param: unknown;
}

/** One frame to one connection; an empty channel means the connection's route channel. */
export function sendToConnection(svc: SocketService, connId: string, frame: Outbound): { sent: true } {
  const conn = requireConnection(svc, connId);
  const channel = frame.channel || conn.channel;
  checkChannel(svc, channel);
  svc.writeConnection(conn.id, { channel, cmd: frame.cmd, param: frame.param });
  return { sent: true };
}

/** One frame to every member of a channel; answers how many members this node has there. */
export function publishToChannel(svc: SocketService, frame: Outbound): { members: number } {
  checkChannel(svc, frame.channel);
  const members = svc.getConnectionsByChannel(frame.channel).length;
  svc.writeChannel({ channel: frame.channel, cmd: frame.cmd, param: frame.param });
  return { members };
}

/** Kicks one connection: `close-connection` with the reason, then close 4000 (the client does not reconnect). */
export function kickConnection(svc: SocketService, connId: string, reason: string): { disconnected: number } {
  svc.disconnect(requireConnection(svc, connId).id, CloseCode.kicked, reason);
  return { disconnected: 1 };
}

/** Kicks every connection (every tab) of one user on this node; zero when the user has none. */
export function kickUser(svc: SocketService, userId: string, reason: string): { disconnected: number } {
  const conns = svc.getConnections().filter((c) => c.profile.id === userId);
  for (const c of conns) svc.disconnect(c.id, CloseCode.kicked, reason);
  return { disconnected: conns.length };
}

function requireConnection(svc: SocketService, connId: string) {
  const conn = svc.getConnection(connId);
  if (!conn) throw new SocketError(ErrorCode.unknownConnection, `no connection ${connId} on this node`);
  return conn;
}

function checkChannel(svc: SocketService, channel: string): void {
  const max = svc.options.maxChannelNameLength;
  if (channel.length > max) throw new SocketError(ErrorCode.invalidParam, `channel must be at most ${max} characters`);
}
