import type { Bus } from './bus';
import type { Connection } from './connection';
import { Dedupe } from './dedupe';
import { CloseCode, ErrorCode, SocketError } from './errors';
import type { Gate } from './gate';
import type { Position } from './history';
import type { Hub } from './hub';
import { Inbox } from './inbox';
import type { SocketLimits } from './limits';
import { errorFrame, parseFrame, type FrameError, type Message, type Ref } from './message';
import { timed, type Observer } from './observer';
import { parseSince, resume } from './recovery';
import type { SocketRouter } from './router';
import type { ChannelAction, Sockets } from './sockets';

export interface InboundOptions extends Pick<SocketLimits, 'maxChannelNameLength' | 'authTimeoutMs' | 'dedupeTtlMs' | 'dedupeMaxIds' | 'dedupePollMs'> {
  observer?: Observer;
  /** The engine: its retry ledger, when it has one, makes retries safe across nodes. */
  bus?: Pick<Bus, 'retries'>;
}

/**
 * One frame's way in: budget, parse (or the route's codec), first-message auth, built-in cmds,
 * membership and `authorize`, the route's handler, then its reply or error. Every step of a
 * connection goes through its Inbox, so answers keep the frames' order.
 */
export class Inbound {
  /** Frames with an `id`, per user: a retry gets the first answer instead of a second run. */
  readonly dedupe: Dedupe;

  constructor(
    /** What handlers are given. */
    private readonly sockets: Sockets,
    private readonly hub: Hub,
    private readonly gate: Gate,
    private readonly routes: SocketRouter,
    private readonly options: InboundOptions,
  ) {
    this.dedupe = new Dedupe({ ttlMs: options.dedupeTtlMs, maxIds: options.dedupeMaxIds, pollMs: options.dedupePollMs, ledger: options.bus?.retries });
  }

  /** First in the inbox, so no frame is handled before the route channel is joined and onOpen ran. */
  admit(conn: Connection, authenticated: Promise<void>, since: Position | undefined): void {
    Inbox.push(conn, () =>
      this.guard(conn, conn.channel, undefined, async () => {
        await authenticated;
        await this.hub.addUser(conn);
        if (since) await resume(this.hub, conn, conn.channel, since);
        else await this.hub.join(conn, conn.channel);
        // Closed meanwhile (a join can wait for the bus): cleaned up already, without onClose; no onOpen either.
        if (!this.hub.has(conn)) return;
        conn.admitted = true;
        await conn.handler.onOpen?.(this.sockets, conn, conn.log);
      }),
    );
  }

  /** Resolves once the connection's first frame authenticated it; closes it with 4001 otherwise. */
  awaitAuth(conn: Connection): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => conn.close(CloseCode.authExpired, 'authentication timeout'), this.options.authTimeoutMs).unref();
      conn.pendingAuth = {
        admit: () => {
          clearTimeout(timer);
          conn.pendingAuth = undefined;
          resolve();
        },
        verifying: false,
      };
    });
  }

  /** Warns before the credential expires and closes the connection (4001) when it does. */
  watchCredential(conn: Connection, expiresAt: number | undefined): void {
    this.gate.watch(
      conn,
      expiresAt,
      () => this.hub.sendDirect(conn, { channel: conn.channel, cmd: 'token-expiring', param: { expiresAt: expiresAt! } }),
      () => conn.close(CloseCode.authExpired, 'token expired'),
    );
  }

  /** One WebSocket message from the client. */
  frame(conn: Connection, data: Buffer, isBinary: boolean): void {
    const { tap } = this.hub;
    conn.lastActivity = Date.now();
    conn.messagesIn++;
    conn.bytesIn += data.length;
    if (!conn.bucket.take()) {
      if (conn.bucket.abusive) return conn.close(CloseCode.policy, 'rate limit exceeded');
      // Not handled, but a request still gets its one answer: its channel and ref are read back.
      const refused = isBinary || conn.codec ? undefined : this.safeParse(data.toString(), conn.channel);
      const limited = new SocketError(ErrorCode.rateLimited, 'too many frames: this one was not handled');
      return Inbox.push(conn, () => this.fail(conn, refused?.channel ?? conn.channel, limited, refused?.ref));
    }
    if (conn.pendingAuth && !conn.pendingAuth.verifying) return void this.authenticate(conn, isBinary ? undefined : this.safeParse(data.toString(), conn.channel));
    if (isBinary) {
      const { handler } = conn;
      const work = handler.onBinary
        ? () => handler.onBinary!(this.sockets, conn, data, conn.log)
        : () => {
            throw new SocketError(ErrorCode.binaryUnsupported, 'binary frames are not accepted on this route');
          };
      if (tap.active) tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: conn.channel, cmd: '(binary)', size: data.length }, '');
      return Inbox.push(conn, () => this.guard(conn, conn.channel, undefined, work));
    }
    const text = data.toString();
    let frame: Message;
    try {
      frame = conn.codec ? conn.codec.decode(text, conn.channel) : parseFrame(text, conn.channel, this.options.maxChannelNameLength);
    } catch (err) {
      if (tap.active) tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: conn.channel, cmd: '(invalid)', size: data.length }, text);
      return Inbox.push(conn, () => this.fail(conn, conn.channel, err, (err as FrameError).ref));
    }
    if (tap.active) tap.emit({ dir: 'in', conn: conn.id, target: 'conn', channel: frame.channel, cmd: frame.cmd, size: data.length }, text);
    const { id } = frame;
    const work = id === undefined ? () => this.dispatch(conn, frame) : () => this.dedupe.run(conn.profile.id, id, () => this.dispatch(conn, frame), conn.log);
    Inbox.push(conn, () => this.guard(conn, frame.channel, frame.ref, work));
  }

  /** Handles the `auth` frame of a connection that has not authenticated yet; anything else closes it. */
  private async authenticate(conn: Connection, frame: Message | undefined): Promise<void> {
    // Frames after this one queue in the inbox behind the first task, which waits for `admit`.
    const pending = conn.pendingAuth!;
    if (frame?.cmd !== 'auth') return conn.close(CloseCode.authExpired, 'the first frame must be auth');
    pending.verifying = true;
    try {
      const identity = await this.gate.verify((frame.param as { token?: unknown } | null)?.token, conn.routeOptions);
      conn.profile = identity.profile;
      this.watchCredential(conn, identity.expiresAt);
      pending.admit();
      this.reply(conn, frame.channel, frame.ref, { profile: identity.profile, expiresAt: identity.expiresAt ?? null });
    } catch (err) {
      this.fail(conn, frame.channel, err, frame.ref);
      conn.close(CloseCode.authExpired, 'authentication failed');
    }
  }

  /** Built-in cmds first; everything else goes to the route's handler, for members of the frame's channel. */
  private dispatch(conn: Connection, frame: Message): unknown {
    switch (frame.cmd) {
      case 'join':
        return this.clientJoin(conn, frame);
      case 'leave':
        return this.hub.leave(conn, frame.channel).then((removed) => ({ removed }));
      case 'refresh':
        return this.refresh(conn, frame.param);
      case 'presence':
        if (!conn.channels.includes(frame.channel)) throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}"`);
        return this.sockets.presence(frame.channel).then((users) => ({ users }));
    }
    if (!conn.channels.includes(frame.channel)) {
      throw new SocketError(ErrorCode.notMember, `not a member of channel "${frame.channel}": join it first`);
    }
    if (!conn.routeOptions.authorize) return this.handle(conn, frame);
    // A sync hook keeps the frame sync: no promise, no inbox, and its writes share the turn's batch.
    const allowed = conn.routeOptions.authorize(conn, frame.channel, 'publish');
    if (allowed instanceof Promise) return allowed.then((ok) => this.handle(conn, permitted(ok, 'publish', frame)));
    return this.handle(conn, permitted(allowed, 'publish', frame));
  }

  /** The built-in join: authorized, and resuming from `param.since` when given. */
  private async clientJoin(conn: Connection, frame: Message): Promise<{ created: boolean; recovered?: boolean }> {
    const { namespace, authorize } = conn.routeOptions;
    const owner = this.routes.namespaceOf(frame.channel);
    if (owner !== namespace) {
      throw new SocketError(ErrorCode.forbidden, owner ? `channel "${frame.channel}" belongs to another route` : `this route's clients may join only "${namespace}:" channels`);
    }
    if (!authorize) throw new SocketError(ErrorCode.forbidden, 'this route lets clients join no channel (it has no authorize hook)');
    permitted(await authorize(conn, frame.channel, 'join'), 'join', frame);
    const since = parseSince(frame.param);
    if (since && !conn.codec) return resume(this.hub, conn, frame.channel, since);
    return { created: await this.hub.join(conn, frame.channel) };
  }

  /** A new token for the same user extends the connection's life. */
  private async refresh(conn: Connection, param: unknown): Promise<{ expiresAt: number | null }> {
    const identity = await this.gate.verify((param as { token?: unknown } | null)?.token, conn.routeOptions);
    if (identity.profile.id !== conn.profile.id) throw new SocketError(ErrorCode.unauthorized, 'the new token is for another user');
    this.watchCredential(conn, identity.expiresAt);
    return { expiresAt: identity.expiresAt ?? null };
  }

  private handle(conn: Connection, frame: Message): unknown {
    const { observer } = this.options;
    // Without an observer: no closure, no clock reads.
    if (observer) return timed(observer, frame.cmd, () => conn.handler.on(this.sockets, conn, frame.cmd, frame.param, conn.log, frame));
    return conn.handler.on(this.sockets, conn, frame.cmd, frame.param, conn.log, frame);
  }

  /**
   * Runs one unit of a connection's work and answers it: a reply when `ref` is set, an error
   * frame on failure. Returns a promise only when the work is async, so sync handlers stay sync.
   */
  private guard(conn: Connection, channel: string, ref: Ref | undefined, work: () => unknown): unknown {
    let result: unknown;
    try {
      result = work();
    } catch (err) {
      return this.fail(conn, channel, err, ref);
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.reply(conn, channel, ref, value),
        (err) => this.fail(conn, channel, err, ref),
      );
    }
    this.reply(conn, channel, ref, result);
  }

  private reply(conn: Connection, channel: string, ref: Ref | undefined, value: unknown): void {
    if (ref === undefined) return;
    this.hub.sendDirect(conn, { channel, cmd: 'reply', param: value ?? null, ref });
  }

  private fail(conn: Connection, channel: string, err: unknown, ref?: Ref): void {
    conn.errors++;
    let code: string = ErrorCode.internal;
    let message = 'internal error';
    if (err instanceof SocketError) ({ code, message } = err);
    else conn.log.error({ err }, 'handler failed');
    this.options.observer?.error(code);
    this.hub.sendDirect(conn, errorFrame(channel, code, message, ref));
  }

  /** A frame, or undefined when the text is not one (the caller answers that its own way). */
  private safeParse(text: string, channel: string): Message | undefined {
    try {
      return parseFrame(text, channel, this.options.maxChannelNameLength);
    } catch {
      return undefined;
    }
  }
}

/** The frame, when the route's `authorize` said yes; `forbidden` otherwise. */
function permitted(allowed: boolean, action: ChannelAction, frame: Message): Message {
  if (!allowed) throw new SocketError(ErrorCode.forbidden, `not allowed to ${action} channel "${frame.channel}"`);
  return frame;
}
