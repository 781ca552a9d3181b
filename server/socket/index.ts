/**
 * The public API of the socket core: what apps, features, handlers and the admin import. Nothing
 * else of server/socket/ is meant to be reached from outside it (the engines aside, server/engine/
 * and server/cluster/, which implement the Broker, Presence and NodeRegistry seams).
 */
export type { Authenticator, Identity } from './auth';
export { JwtAuthenticator, type JwtOptions } from './auth';
export type { Codec } from './codec';
export { CloseCode, ErrorCode, SocketError } from './errors';
export { defineHandler, describeIssues, type CommandContext, type Commands, type Hooks } from './handler';
export { HttpError } from './http-error';
export type { Log } from './log';
export { socketDefaults, type SocketLimits } from './limits';
export { FrameError, parseObject, type Message, type PresenceDiff, type PresenceUser, type Ref } from './message';
export type { Profile } from './profile';
export type { Observer } from './observer';
export { defineProtocol, type AnyProtocol, type ClientFrame, type ClientParam, type Protocol, type ReplyOf, type ServerFrame } from './protocol';
export type { RateLimit } from './rate-limit';
export { roomAuthorize, roomOf, roomPattern, roomRoute, roomRule, socketRoom, type RoomRouteSpec } from './room';
export type { CloseInfo, Session } from './session';
export type { ChannelAction, Handler, RouteOptions, RouteResolver, Sockets, UpgradeOptions } from './sockets';
export { connectionStatus, type ChannelStatus, type ClusterStatus, type ConnectionStatus, type Status } from './status';
export { Tap, type TapEntry, type TapListener } from './tap';
export { Throttle } from './throttle';
