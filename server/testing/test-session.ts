import type { Logger } from 'pino';
import {
  type AnyProtocol,
  type ChannelAction,
  type ClientParam,
  type CloseInfo,
  ErrorCode,
  type Handler,
  type Message,
  type Profile,
  type Protocol,
  type Ref,
  type ReplyOf,
  type RouteOptions,
  type ServerFrame,
  type Session,
  SocketError,
  type Sockets,
  Tap,
} from '../socket';

/** Where a push goes and how it is named; like a client frame's `channel` and `ref`. */
export interface PushOptions {
  /** The frame's channel; absent or '' means the session's route channel, as on the wire. */
  channel?: string;
  ref?: Ref;
}

/** The error answer to a push: `code` and `message` as the client gets them. */
export class PushError extends SocketError {
  constructor(
    code: string,
    message: string,
    /** What the handler threw, when that became `internal_error`. */
    readonly thrown?: unknown,
  ) {
    super(code, message);
    this.name = 'PushError';
  }
}

export interface ConnectOptions {
  /**
   * The verified identity's profile. Without it: the route's profile (route mode), else a guest
   * keyed by the connection id (`guest-xxxxxxxx`), as the service makes one.
   */
  profile?: Profile;
  /** The route channel (with the kit's handler). Default `test`. */
  channel?: string;
  /** Channels the server puts the session in after its route channel, before onOpen (no authorize check). */
  channels?: string[];
  /**
   * Connect through a route registered on the kit (`kit.route`, e.g. by `roomRoute(kit, …)`):
   * its path and query. The route's resolver picks channel, profile and handler and its options
   * apply; a resolver's HttpError (or 401 without a profile on a route that is not anonymous)
   * rejects `connect`, as the upgrade would be refused.
   */
  url?: string;
  /** Request headers the route's resolver sees (e.g. `cookie`). */
  headers?: Record<string, string>;
  /** `Session.expiresAt` (not enforced). */
  expiresAt?: number;
  remoteAddress?: string;
  userAgent?: string;
}
/** What a TestSession needs of its kit. */
export interface KitInternals<P extends Protocol<any, any, any>> {
  sockets: Sockets;
  track<T>(work: Promise<T>): Promise<T>;
  namespaceOf(channel: string): string | undefined;
  closed(s: TestSession<P>): void;
  gone(s: TestSession<P>): void;
  maxChannelNameLength(): number;
  tap: Tap;
}

interface SessionInit extends ConnectOptions {
  id: string;
  profile: Profile;
  channel: string;
  path: string;
  handler: Handler;
  route: RouteOptions;
  log: Logger;
}

/**
 * One connection of the kit: the `Session` its handler sees, plus what a test does with it
 * (push, join, close) and what it was sent (`received`).
 */
export class TestSession<P extends Protocol<any, any, any> = AnyProtocol> implements Session {
  readonly id: string;
  readonly profile: Profile;
  readonly channel: string;
  channels: readonly string[] = [];
  readonly route: string;
  readonly remoteAddress: string;
  readonly userAgent: string;
  readonly started = Date.now();
  lastActivity = this.started;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  readonly expiresAt?: number;
  readonly log: Logger;
  readonly closed: Promise<CloseInfo>;
  /** Every frame delivered to this session, in order, as its client would parse it (answers to pushes aside). */
  readonly received: Array<ServerFrame<P>> = [];
  /** @internal */
  readonly routeOptions: RouteOptions;
  /** @internal */
  closing = false;
  private readonly handler: Handler;
  private admitted = false;
  private queue: Promise<unknown> = Promise.resolve();
  private refs = 0;
  private settle!: (info: CloseInfo) => void;

  /** @internal Made by `HandlerTest.connect`. */
  constructor(
    private readonly kit: KitInternals<P>,
    init: SessionInit,
  ) {
    this.id = init.id;
    this.profile = init.profile;
    this.channel = init.channel;
    this.route = init.path;
    this.remoteAddress = init.remoteAddress ?? '127.0.0.1';
    this.userAgent = init.userAgent ?? 'wsforge-testing';
    this.expiresAt = init.expiresAt;
    this.handler = init.handler;
    this.routeOptions = init.route;
    this.log = init.log;
    this.closed = new Promise((resolve) => (this.settle = resolve));
  }

  /** The frames received with this cmd (`received` filtered). */
  frames<K extends ServerFrame<P>['cmd']>(cmd: K): Array<FrameOf<P, K>> {
    return this.received.filter((f) => f.cmd === cmd) as Array<FrameOf<P, K>>;
  }

  /**
   * Sends a frame as the client would: resolves with the reply's param (JSON round trip), or
   * rejects with a PushError carrying the error frame's `code` and `message`.
   */
  async push<K extends keyof P['client'] & string>(cmd: K, param?: ClientParam<P, K>, opts: PushOptions = {}): Promise<ReplyOf<P, K>> {
    return valueOf(await this.send(cmd, param, opts.channel, opts.ref ?? `kit-${++this.refs}`)) as ReplyOf<P, K>;
  }

  /** Sends a frame with a ref and resolves with the `reply` or `error` frame that answers it, as its client receives it. */
  async request<K extends keyof P['client'] & string>(cmd: K, param?: ClientParam<P, K>, opts: PushOptions = {}): Promise<Answer> {
    return (await this.send(cmd, param, opts.channel, opts.ref ?? `kit-${++this.refs}`)).answer;
  }

  /** The built-in `join` (namespace and authorize rules apply; `since` is not replayed). */
  async join(channel: string): Promise<{ created: boolean }> {
    return valueOf(await this.send('join', {}, channel, `kit-${++this.refs}`)) as { created: boolean };
  }

  /** The built-in `leave`. */
  async leave(channel: string): Promise<{ removed: boolean }> {
    return valueOf(await this.send('leave', {}, channel, `kit-${++this.refs}`)) as { removed: boolean };
  }

  /** The built-in `presence` (members only). */
  async presence(channel = this.channel): Promise<{ users: Profile[] }> {
    return valueOf(await this.send('presence', {}, channel, `kit-${++this.refs}`)) as { users: Profile[] };
  }

  /** A binary frame: the handler's onBinary, else `binary_unsupported`. Resolves with what it returned. */
  async pushBinary(data: Buffer): Promise<unknown> {
    this.arrived(data.length);
    const handler = this.handler;
    const outcome = this.enqueue(async () => {
      if (!handler.onBinary) throw new SocketError(ErrorCode.binaryUnsupported, 'binary frames are not accepted on this route');
      return handler.onBinary(this.kit.sockets, this, data, this.log);
    });
    return valueOf(await outcome);
  }

  /**
   * Closes the session as the client going away would (or `Session.close` from the server): it
   * leaves the connections, onClose runs while it is still in its channels, then it leaves them
   * (presence; the leave is announced at the next `kit.idle()`) and `closed` settles. Resolves once that is done.
   */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.closing) return this.closed;
    this.closing = true;
    this.kit.closed(this);
    return this.kit.track(this.cleanup({ code, reason }));
  }

  /** @internal The kit's delivery: one serialized frame. */
  deliver(data: string): void {
    this.messagesOut++;
    this.bytesOut += Buffer.byteLength(data);
    this.received.push(JSON.parse(data) as ServerFrame<P>);
  }

  /** @internal Joins the route channel (and `channels`), then runs onOpen, like the service's admit. */
  async open(channels: string[]): Promise<void> {
    await this.enqueue(async () => {
      await this.kit.sockets.join(this.id, this.channel);
      for (const ch of channels) await this.kit.sockets.join(this.id, ch);
      this.admitted = true;
      await this.handler.onOpen?.(this.kit.sockets, this, this.log);
    }).then(({ answer }) => {
      // An onOpen failure is answered like any failed work: an error frame, the connection stays.
      if (answer.cmd === 'error') this.received.push(answer as ServerFrame<P>);
    });
  }

  private async cleanup(info: CloseInfo): Promise<CloseInfo> {
    try {
      if (this.admitted) await this.handler.onClose?.(this.kit.sockets, this, this.log);
    } catch (err) {
      this.log.error({ err }, 'onClose failed');
    }
    for (const channel of this.channels) await this.kit.sockets.leave(this.id, channel);
    this.kit.gone(this);
    this.settle(info);
    return info;
  }

  private arrived(bytes: number): void {
    if (this.closing) throw new Error(`session ${this.id} is closed`);
    this.lastActivity = Date.now();
    this.messagesIn++;
    this.bytesIn += bytes;
  }

  /**
   * One client frame, as parseFrame reads it and dispatch handles it. Queued before its first
   * await, so frames sent without waiting keep their order.
   */
  private async send(cmd: string, param: unknown, channel: string | undefined, ref: Ref): Promise<Outcome> {
    const wire = JSON.stringify({ channel, cmd, param, ref });
    this.arrived(Buffer.byteLength(wire));
    const frame = JSON.parse(wire) as { channel?: unknown; cmd: unknown; param?: unknown; ref: Ref };
    const ch = frame.channel === undefined || frame.channel === '' ? this.channel : frame.channel;
    if (this.kit.tap.active) this.kit.tap.emit({ dir: 'in', conn: this.id, target: 'conn', channel: String(ch), cmd, size: Buffer.byteLength(wire) }, wire);
    const max = this.kit.maxChannelNameLength();
    // The frame checks of parseFrame, answered like it is.
    let invalid: string | undefined;
    if ((typeof ref === 'string' && ref.length > 64) || (typeof ref === 'number' && !Number.isFinite(ref))) invalid = 'ref must be a string of at most 64 characters or a number';
    else if (typeof cmd !== 'string' || cmd.length === 0 || cmd.length > 64) invalid = 'cmd must be a non-empty string of at most 64 characters';
    else if (typeof ch !== 'string' || ch.length > max) invalid = `channel must be a string of at most ${max} characters`;
    if (invalid !== undefined) {
      const message = invalid;
      return this.enqueue(() => Promise.reject(new SocketError(ErrorCode.invalidFrame, message)), this.channel, ref);
    }
    const msg: Message = { channel: ch as string, cmd, param: frame.param ?? {}, ref };
    return this.enqueue(() => this.dispatch(msg), msg.channel, ref);
  }

  /** Built-in cmds first; everything else to the handler, for members of the frame's channel that `authorize` lets publish. */
  private async dispatch(frame: Message): Promise<unknown> {
    const sockets = this.kit.sockets;
    switch (frame.cmd) {
      case 'join':
        return this.clientJoin(frame.channel);
      case 'leave':
        return { removed: await sockets.leave(this.id, frame.channel) };
      case 'presence':
        if (!this.channels.includes(frame.channel)) throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}"`);
        return { users: await sockets.presence(frame.channel) };
      case 'auth':
      case 'refresh':
        throw new Error(`the test kit does not support the built-in "${frame.cmd}"`);
    }
    if (!this.channels.includes(frame.channel)) throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}": join it first`);
    if (this.routeOptions.authorize) await this.authorized(frame.channel, 'publish');
    return this.handler.on(sockets, this, frame.cmd, frame.param, this.log, frame);
  }

  private async clientJoin(channel: string): Promise<{ created: boolean }> {
    const { namespace, authorize } = this.routeOptions;
    const owner = this.kit.namespaceOf(channel);
    if (owner !== namespace) {
      throw new SocketError(ErrorCode.forbidden, owner ? `channel "${channel}" belongs to another route` : `this route's clients may join only "${namespace}:" channels`);
    }
    if (!authorize) throw new SocketError(ErrorCode.forbidden, 'this route lets clients join no channel (it has no authorize hook)');
    await this.authorized(channel, 'join');
    return { created: await this.kit.sockets.join(this.id, channel) };
  }

  private async authorized(channel: string, action: ChannelAction): Promise<void> {
    if (!(await this.routeOptions.authorize!(this, channel, action))) throw new SocketError(ErrorCode.forbidden, `not allowed to ${action} channel "${channel}"`);
  }

  /**
   * Runs one unit of work after the session's earlier ones (frames are handled in order) and
   * answers it as the service does: a reply, or an error frame (SocketError → its code, any other
   * throw → internal_error). The answer goes to the caller, not to `received`.
   */
  private enqueue(work: () => unknown, channel = this.channel, ref?: Ref): Promise<Outcome> {
    const withRef = ref === undefined ? {} : { ref };
    const run = this.queue.then(work).then(
      (value): Outcome => ({ answer: { channel, cmd: 'reply', param: JSON.parse(JSON.stringify(value ?? null)), ...withRef } }),
      (err: unknown): Outcome => {
        this.errors++;
        if (err instanceof SocketError) return { answer: { channel, cmd: 'error', param: { code: err.code, message: err.message }, ...withRef } };
        this.log.error({ err }, 'handler failed');
        return { answer: { channel, cmd: 'error', param: { code: ErrorCode.internal, message: 'internal error' }, ...withRef }, thrown: err };
      },
    );
    this.queue = run;
    return this.kit.track(run).then((outcome) => {
      this.messagesOut++;
      this.bytesOut += Buffer.byteLength(JSON.stringify(outcome.answer));
      return outcome;
    });
  }
}

/** An answer and, for `internal_error`, what was thrown (for PushError.thrown). */
interface Outcome {
  answer: Answer;
  thrown?: unknown;
}

/** A reply's value, or the PushError of an error answer. */
function valueOf({ answer, thrown }: Outcome): unknown {
  if (answer.cmd === 'error') throw new PushError(answer.param.code, answer.param.message, thrown);
  return answer.param;
}

/** A received frame of cmd K: the protocol's own type for it when it has one. */
type FrameOf<P extends Protocol<any, any, any>, K> = [Extract<ServerFrame<P>, { cmd: K }>] extends [never] ? ServerFrame<P> : Extract<ServerFrame<P>, { cmd: K }>;

/** The frame that answers a push: `reply` with its value, or `error` with code and message. */
export type Answer = ({ cmd: 'reply'; param: unknown } | { cmd: 'error'; param: { code: string; message: string } }) & { channel: string; ref?: Ref };

