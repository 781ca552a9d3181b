import type { Log } from './log';
import type { Profile } from './profile';

export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * One connection as handlers and features see it: who, where, how much, and how to close it.
 * The service's own state of a connection (socket, inbox, recovery) is not part of it.
 */
export interface Session {
  /** UUID: how every `Sockets` call names a connection, on this node or another. */
  readonly id: string;
  /** Set at upgrade (token, route) or by the `auth` frame; never by client frames. */
  readonly profile: Profile;
  /** The channel the route chose at upgrade; frames without a channel mean this one. */
  readonly channel: string;
  /** Every channel it is in, in joining order (a new array after each join or leave). */
  readonly channels: readonly string[];
  /** Path of the socket route it came in through, e.g. `/chat/socket`. */
  readonly route: string;
  /** The client's address: the TCP peer, or what trusted proxies report (TRUST_PROXY). */
  readonly remoteAddress: string;
  readonly userAgent: string;
  /** When it opened and when it last sent a frame (ms since epoch). */
  readonly started: number;
  readonly lastActivity: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly errors: number;
  /** When its credential expires (ms since epoch); it is closed with 4001 then unless refreshed. */
  readonly expiresAt?: number;
  /** Lines tagged with this connection and its user. */
  readonly log: Log;
  /** Closes it from the server: `code` 4000 tells the client not to reconnect. */
  close(code: number, reason: string): void;
  /** Settles with the close code and reason once it has closed and been cleaned up. */
  readonly closed: Promise<CloseInfo>;
}
