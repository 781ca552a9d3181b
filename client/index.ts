export { Backoff, type BackoffOptions } from './backoff';
export { Request, RequestError } from './request';
export { Socket, type SocketOptions, type WebSocketConstructor, type WebSocketLike } from './socket';
// The codes the server sends (close codes, error frames' codes), from the one module both sides
// share: it imports nothing, so it adds no server code or zod to the bundle.
export { CloseCode, ErrorCode } from '../server/socket/errors';
// Types only: the browser bundle must never pull in server code or zod.
export type { Message, Notice, PresenceDiff, PresenceUser, Ref } from '../server/socket/message';
export type { AnyProtocol, ClientFrame, ClientParam, Protocol, ReplyOf, ServerFrame } from '../server/socket/protocol';
export { closeStatus } from './close-status';
export { SnapshotSync, type SnapshotSyncOptions } from './snapshot';
export { PresenceList } from './presence';
