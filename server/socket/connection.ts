import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { WebSocket } from 'ws';
import type { Codec } from './codec';
import { CloseCode } from './errors';
import { textFrame, type BatchTarget, type WriteBatch } from './frame';
import type { Inbox, InboxOwner } from './inbox';
import type { SocketLimits } from './limits';
import { ConnectionLog } from './log';
import type { Profile } from './profile';
import { TokenBucket, type RateLimit } from './rate-limit';
import type { ReplayGuard } from './replay-guard';
import type { CloseInfo, Session } from './session';
import type { Handler, RouteOptions } from './sockets';
import { connectionStatus, type ConnectionStatus } from './status';

export type ConnectionLimits = Pick<SocketLimits, 'maxBufferedBytes' | 'inboxLimit' | 'closeGraceMs'>;

/** What every connection of one route shares: made once per route, so each connection holds one reference. */
export interface RouteContext {
  /** Path of the socket route, e.g. `/example/socket`: tells the admin which feature owns it. */
  readonly path: string;
  /** The route's security options. */
  readonly options: RouteOptions;
  /** The inbound frame budget of each connection (the service's, with the route's overrides). */
  readonly rateLimit: RateLimit;
  readonly limits: ConnectionLimits;
  /** The route's write delay, or the service's. */
  readonly writeDelayMs: number;
  /** The service's write batch: every frame to a connection goes through it. */
  readonly batch: WriteBatch;
  readonly log: Logger;
}

/** An `authInFirstMessage` connection that has not authenticated yet. */
export interface PendingAuth {
  /** Lets the connection in once its `auth` frame verified. */
  admit(): void;
  /** An `auth` frame is being verified: later frames wait. */
  verifying: boolean;
}

/**
 * One live WebSocket: the Session handlers see, plus the service's own state of it. Idle
 * connections are most of a server's memory, so what only some of them need (a pending task
 * queue, a rate-limit bucket, a close promise) is made on first use, and what a route's
 * connections share lives in its RouteContext.
 */
export class Connection implements Session, InboxOwner, BatchTarget {
  readonly id = uuidv4();
  /** Set at upgrade, or by the `auth` frame on routes that authenticate in the first message. */
  profile: Profile;
  /** The channel the route chose at upgrade; frames without a channel mean this one. */
  readonly channel: string;
  /** See `channels`. */
  private joinedChannels: readonly string[] = noChannels;
  readonly userAgent: string;
  readonly started = Date.now();
  lastActivity = this.started;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  /** Bytes the socket had read at the last ping round: unchanged by the next one means no pong and no frame came. */
  bytesReadAtPing = 0;
  /** Frames waiting for an earlier async one (inbox.ts); absent while nothing waits. */
  inbox?: Inbox;
  /** Set while an `authInFirstMessage` connection has not authenticated. */
  pendingAuth?: PendingAuth;
  /** When its credential expires (ms since epoch), if it has one. */
  expiresAt?: number;
  /** Its resumes in progress or just sent (replay-guard.ts); absent otherwise. */
  replay?: ReplayGuard;
  /** Set once the socket stops being writable for us (closing, kicked, slow). */
  closing = false;
  /** Its route channel joined and `onOpen` called: only then does it get `onClose`. */
  admitted = false;
  /** Why the server closed it, kept because a peer that never answers leaves ws reporting only 1006. */
  serverClose?: CloseInfo;
  private tokens?: TokenBucket;
  private ending?: { info?: CloseInfo; promise?: Promise<CloseInfo>; settle?: (info: CloseInfo) => void };

  constructor(
    readonly ws: WebSocket,
    req: IncomingMessage,
    /** The client's address (the TCP peer, or per trusted proxies). */
    readonly remoteAddress: string,
    channel: string,
    profile: Profile | undefined,
    readonly handler: Handler,
    readonly codec: Codec | undefined,
    readonly context: RouteContext,
  ) {
    this.channel = channel;
    this.profile = profile ?? { id: this.id, name: `guest-${this.id.slice(0, 8)}` };
    this.userAgent = String(req.headers['user-agent'] ?? '').slice(0, 256);
  }

  /**
   * The channels it is in, in joining order. Replaced, never changed, by joins and leaves, so it
   * is safe to iterate while leaving; exact-size, and shared with the Channel when it is the only
   * one (most connections are in one or two channels, and idle memory counts).
   */
  get channels(): readonly string[] {
    return this.joinedChannels;
  }

  /** Called as it is added to channel `key`; `alone` is the channel's shared `[key]`. */
  joined(key: string, alone: readonly string[]): void {
    const list = this.joinedChannels;
    this.joinedChannels = list.length === 0 ? alone : list.concat(key);
  }

  /** Called by the service as it removes the connection from `channel`. */
  left(channel: string): void {
    const list = this.joinedChannels;
    const at = list.indexOf(channel);
    if (at < 0) return;
    // slice and concat make exact-size arrays (filter and spread reserve room to grow).
    this.joinedChannels = list.length === 1 ? noChannels : list.slice(0, at).concat(list.slice(at + 1));
  }

  /** Path of the socket route it came in through, e.g. `/example/socket`. */
  get route(): string {
    return this.context.path;
  }

  /** The security options of the route it came through. */
  get routeOptions(): RouteOptions {
    return this.context.options;
  }

  /**
   * Its logger: lines tagged with this connection and its user (log.ts). Made per use, not kept:
   * a two-field object per handled frame costs less than one per connection.
   */
  get log(): ConnectionLog {
    return new ConnectionLog(this.context.log, this);
  }

  /** Sends one serialized frame to this connection alone (replies, errors, codec output). */
  send(data: string, bytes: number): void {
    if (this.writable) this.sendFrame(textFrame(data, bytes), bytes);
  }

  /** Sends a built frame (frame.ts), possibly shared by many recipients, through the write batch. */
  sendFrame(frame: Buffer, bytes: number): void {
    if (!this.writable) return;
    this.context.batch.write(this, frame);
    this.messagesOut++;
    this.bytesOut += bytes;
  }

  /** The route's write delay (WS_WRITE_DELAY_MS or its own): how long frames to it are coalesced. */
  get writeDelayMs(): number {
    return this.context.writeDelayMs;
  }

  /** ws keeps the TCP socket private; the frame path writes to it directly. */
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  /** A reader that lets more than `maxBufferedBytes` pile up is cut off (4008). */
  checkBacklog(): void {
    if (!this.closing && this.ws.bufferedAmount > this.context.limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer, 'slow consumer: outbound buffer limit exceeded');
    }
  }

  get inboxLimit(): number {
    return this.context.limits.inboxLimit;
  }

  /** Stops reading frames (the inbox is full). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  private get writable(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  /** Starts a close handshake and forces it after `graceMs` if the peer does not answer. */
  close(code: number, reason: string, graceMs = this.context.limits.closeGraceMs): void {
    if (this.closing) return;
    reason = closeReason(reason);
    // ws.close first: if it throws (invalid code), the connection is left as it was, not half-closed.
    this.ws.close(code, reason);
    this.closing = true;
    this.serverClose = { code, reason };
    setTimeout(() => this.ws.terminate(), graceMs).unref();
  }

  /** Settles with the close code and reason once the service has cleaned up after it (made on demand: idle connections carry no promise). */
  get closed(): Promise<CloseInfo> {
    const e = (this.ending ??= {});
    return (e.promise ??= e.info ? Promise.resolve(e.info) : new Promise((resolve) => (e.settle = resolve)));
  }

  /** Its inbound frame budget, made with its first frame: a connection that never sends needs none. */
  get bucket(): TokenBucket {
    return (this.tokens ??= new TokenBucket(this.context.rateLimit));
  }

  /** Called by the service when cleanup is complete. */
  markClosed(info: CloseInfo): void {
    const e = (this.ending ??= {});
    e.info = info;
    e.settle?.(info);
  }

  /** A live frame of `channel` that a resume holds or drops (replay-guard.ts): true when taken. */
  intercepts(channel: string, data: string): boolean {
    const taken = this.replay!.intercept(channel, data);
    if (this.replay!.empty) this.replay = undefined;
    return taken;
  }

  status(node: string): ConnectionStatus {
    return connectionStatus(this, node);
  }
}

const noChannels: readonly string[] = Object.freeze([]);

/** A close frame carries at most 123 bytes of reason (ws throws beyond): cut whole characters to fit. */
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    bytes += Buffer.byteLength(ch);
    if (bytes > 123) break;
    out += ch;
  }
  return out;
}
