/**
 * Error codes sent in `error` frames and close codes used by the service: the one definition that
 * the server and the browser client (client/socket.ts, and apps through client/index.ts) share.
 * It must import nothing, so that page bundles can take it. docs/protocol.md lists each code;
 * keep the two in step.
 */
export const ErrorCode = {
  /** The text frame is not JSON. */
  invalidJson: 'invalid_json',
  /** JSON, but not a `{channel?, cmd, param?, ref?}` object. */
  invalidFrame: 'invalid_frame',
  /** The route's handler does not know this cmd. */
  unknownCmd: 'unknown_cmd',
  /** The param does not match the cmd's schema. */
  invalidParam: 'invalid_param',
  /** The frame names a channel this connection has not joined. */
  notMember: 'not_member',
  /** A binary frame on a route whose handler does not accept binary. */
  binaryUnsupported: 'binary_unsupported',
  /** The join would exceed a limit (channels per connection). */
  limitExceeded: 'limit_exceeded',
  /** The route's authorize hook refused this join or publish. */
  forbidden: 'forbidden',
  /** A room route's frame names another room of its namespace than the connection's own (room.ts). */
  wrongRoom: 'wrong_room',
  /** Over the connection's inbound frame budget; the frame was not handled. */
  rateLimited: 'rate_limited',
  /** A token sent over the socket (`auth`, `refresh`) was refused, or `auth` was expected. */
  unauthorized: 'unauthorized',
  /** No connection with that id on this node (join by id, admin send and kick). */
  unknownConnection: 'unknown_connection',
  /** The connection was not found, but some live node did not answer in time: it may be there. Try again. */
  nodeUnavailable: 'node_unavailable',
  /** The handler threw something that is not a SocketError; details stay in the server log. */
  internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {});

/** Close codes; 1xxx are RFC 6455, 4xxx are wsforge's own. */
export const CloseCode = {
  normal: 1000,
  /** Server shutting down: clients should reconnect. */
  goingAway: 1001,
  /** Frame larger than `maxPayload` (sent by ws itself). */
  tooBig: 1009,
  /** Policy violation: sustained abuse of the rate limit. */
  policy: 1008,
  /** Disconnected on purpose by the server or an admin: clients must not reconnect. */
  kicked: 4000,
  /** Credential expired without refresh, or authentication failed or timed out: reconnect with a fresh token. */
  authExpired: 4001,
  /** Outbound buffer passed `maxBufferedBytes`: the client reads too slowly. Clients may reconnect. */
  slowConsumer: 4008,
} as const;

/**
 * Throw from a handler to answer the sender with an `error` frame carrying this code.
 * Any other thrown value becomes `internal_error` with a generic message.
 */
export class SocketError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SocketError';
  }
}
