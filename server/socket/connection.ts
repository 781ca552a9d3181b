import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { WebSocket } from 'ws';
import type { Codec } from './codec';
import { CloseCode } from './errors';
import type { Handler } from './handler';
import type { WriteBatch } from './frame';
import { Inbox } from './inbox';
import { TokenBucket, type RateLimit } from './rate-limit';
import type { RouteOptions } from './router';
import { Counters, type ConnectionStatus } from './status';

/** Who is on the other end. Comes from the server (auth, route), never from client frames. */
export interface Profile {
  id: string;
  name: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectionLimits {
  maxBufferedBytes: number;
  inboxLimit: number;
  closeGraceMs: number;
}

/** One live WebSocket, its identity, channels and counters. */
export class Connection {
  readonly id = uuidv4();
  /** Set at upgrade, or by the `auth` frame on routes that authenticate in the first message. */
  profile: Profile;
  /** The channel the route chose at upgrade; frames without a channel mean this one. */
  readonly channel: string;
  /** Path of the socket route it came in through, e.g. `/example/socket`: tells the admin which feature owns it. */
  readonly route: string;
  readonly channels = new Set<string>();
  readonly remoteAddress: string;
  readonly userAgent: string;
  readonly started = Date.now();
  lastActivity = this.started;
  readonly counters = new Counters();
  /** Cleared by each ping round; set by a pong or any inbound frame. */
  alive = true;
  readonly inbox: Inbox;
  private closedPromise?: Promise<CloseInfo>;
  private closeInfo?: CloseInfo;
  /** The security options of the route it came through. */
  readonly routeOptions: RouteOptions;
  private tokens?: TokenBucket;
  /** Set while an `authInFirstMessage` connection has not authenticated; calling it lets it in. */
  pendingAuth?: () => void;
  /** An `auth` frame is being verified: later frames wait. */
  authenticating = false;
  /** When its credential expires (ms since epoch), if it has one. */
  expiresAt?: number;
  expiryTimer?: NodeJS.Timeout;
  /** Channels being resumed: their live frames wait here until the replay is sent. */
  recovering?: Map<string, string[]>;
  /**
   * Per resumed channel, the last position replayed to it: a live frame at or before it that was
   * still on its way from Redis (pub/sub and the history read travel on different connections)
   * is a duplicate. Dropped at the first later frame.
   */
  replayedTo?: Map<string, { epoch: string; offset: number }>;
  /** Set once the socket stops being writable for us (closing, kicked, slow). */
  closing = false;
  /** Why the server closed it, kept because a peer that never answers leaves ws reporting only 1006. */
  serverClose?: CloseInfo;
  private settle?: (info: CloseInfo) => void;
  private logger?: Logger;

  constructor(
    readonly ws: WebSocket,
    req: IncomingMessage,
    channel: string,
    profile: Profile | undefined,
    readonly handler: Handler,
    readonly codec: Codec | undefined,
    private readonly limits: ConnectionLimits,
    private readonly parentLog: Logger,
    routeOptions: RouteOptions,
    private readonly rateLimit: RateLimit,
  ) {
    this.routeOptions = routeOptions;
    this.channel = channel;
    this.route = new URL(req.url ?? '/', 'http://localhost').pathname;
    this.profile = profile ?? { id: this.id, name: `guest-${this.id.slice(0, 8)}` };
    this.remoteAddress = req.socket.remoteAddress ?? '';
    this.userAgent = String(req.headers['user-agent'] ?? '').slice(0, 256);
    this.inbox = new Inbox(limits.inboxLimit, ws);

  }

  /** A child logger tagged with this connection, made on first use to keep idle connections small. */
  get log(): Logger {
    return (this.logger ??= this.parentLog.child({ conn: this.id, user: this.profile.id }));
  }

  /** Sends one already-serialized frame (replies, errors, codec output). */
  send(data: string, bytes: number): void {
    if (!this.writable) return;
    this.ws.send(data);
    this.count(bytes);
    this.checkBacklog();
  }

  /** Sends a frame built once for many recipients (frame.ts), batched per event-loop turn. */
  sendFrame(frame: Buffer, bytes: number, batch: WriteBatch): void {
    if (!this.writable) return;
    batch.write(this, frame);
    this.count(bytes);
  }

  /** ws keeps the TCP socket private; the frame path writes to it directly. */
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  /** A reader that lets more than `maxBufferedBytes` pile up is cut off (4008). */
  checkBacklog(): void {
    if (!this.closing && this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer, 'slow consumer: outbound buffer limit exceeded');
    }
  }

  private get writable(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  private count(bytes: number): void {
    this.counters.messagesOut++;
    this.counters.bytesOut += bytes;
  }

  /** Starts a close handshake and forces it after `graceMs` if the peer does not answer. */
  close(code: number, reason: string, graceMs = this.limits.closeGraceMs): void {
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
    return (this.closedPromise ??= this.closeInfo ? Promise.resolve(this.closeInfo) : new Promise((resolve) => (this.settle = resolve)));
  }

  /** Its inbound frame budget, made with its first frame: a connection that never sends needs none. */
  get bucket(): TokenBucket {
    return (this.tokens ??= new TokenBucket(this.rateLimit));
  }

  /** Called by the service when cleanup is complete. */
  markClosed(info: CloseInfo): void {
    this.closeInfo = info;
    this.settle?.(info);
  }

  status(node: string): ConnectionStatus {
    return {
      id: this.id,
      node,
      profile: this.profile,
      route: this.route,
      channel: this.channel,
      channels: [...this.channels],
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      started: this.started,
      lastActivity: this.lastActivity,
      ...this.counters.toJSON(),
    };
  }
}

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
