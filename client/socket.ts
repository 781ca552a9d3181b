import { CloseCode } from '../server/socket/errors';
import type { BuiltinClientParams, BuiltinReplies, Message, Ref } from '../server/socket/message';
import type { AnyProtocol, ClientFrame, ClientParam, Protocol, ReplyOf, ServerFrame } from '../server/socket/protocol';
import { Backoff, type BackoffOptions } from './backoff';
import { Request } from './request';

/** The part of the WebSocket API the Socket uses: the browser's WebSocket and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface SocketOptions<P extends Protocol<any, any, any>> {
  /** A ws:/wss: or http(s): URL, or a path such as `/example/socket?ch=room1` resolved against `location` (wss on https pages). */
  url: string;
  /** Logs every frame in and out to the console. Default false. */
  debug?: boolean;
  /** Called on every (re)connect, after channels are re-joined and queued frames sent. */
  onOpen?: () => void;
  /** Every frame that is not the answer to a pending request. */
  onMessage?: (frame: ServerFrame<P>) => void;
  /** Problems worth a notice: `socket` (connection), `server` (unsolicited error frame), `queue` (frame dropped), `join` (re-join failed). Default console.error. */
  onError?: (service: string, error: string) => void;
  /** Called on every close; `retryInMs` is undefined when the socket will not reconnect. */
  onClose?: (code: number, reason: string, retryInMs?: number) => void;
  /** WebSocket constructor, for runtimes without a global one (Node 20: pass `ws`'s). Default globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Frames kept while disconnected; past it the oldest is dropped with an onError('queue') notice. Default 100. */
  maxQueue?: number;
  /** Default timeout of request(), join() and leave(), in ms. Default 10 000. */
  requestTimeout?: number;
  /** Delays between reconnect attempts. */
  backoff?: BackoffOptions;
  /** A connection must stay open this long, in ms, before the backoff starts again from its shortest delay. Default 5000. */
  stableAfterMs?: number;
  /**
   * A credential (JWT) for routes that require one, or a function giving a fresh one: called on
   * every connect and when the server warns the current one expires (then sent as `refresh`).
   * Sent as a `bearer.<token>` subprotocol, since browsers cannot set headers.
   */
  token?: string | (() => string | Promise<string>);
  /** Send the token in a first `auth` frame instead (routes with `authInFirstMessage`). Default false. */
  authInFirstMessage?: boolean;
}

const OPEN = 1;

/**
 * A WebSocket that speaks wsforge's `{channel, cmd, param, ref?}` frames, typed by protocol P:
 * it reconnects with backoff, re-joins its channels, queues frames while disconnected and
 * matches replies to requests.
 */
export class Socket<P extends Protocol<any, any, any> = AnyProtocol> {
  readonly url: string;
  private readonly debug: boolean;
  private readonly onOpen?: () => void;
  private readonly onMessage?: (frame: ServerFrame<P>) => void;
  private readonly onError: (service: string, error: string) => void;
  private readonly onClose?: (code: number, reason: string, retryInMs?: number) => void;
  private readonly WebSocket: WebSocketConstructor;
  private readonly token?: string | (() => string | Promise<string>);
  private readonly authInFirstMessage: boolean;
  private readonly maxQueue: number;
  private readonly requestTimeout: number;
  private readonly stableAfterMs: number;
  private readonly backoff: Backoff;

  private ws?: WebSocketLike;
  private lastRef = 0;
  /** Makes this socket's frame `id`s unique to it: `<prefix>-<ref>`, one user's tabs and page loads apart. */
  private readonly idPrefix = randomPrefix();
  private readonly pending = new Map<Ref, Request<any>>();
  private readonly queue: string[] = [];
  /** Channels the server confirmed joining: re-joined after every reconnect. */
  private readonly channels = new Set<string>();
  /** Last position seen per channel, so a reconnect resumes where it left off. */
  private readonly positions = new Map<string, { epoch: string; offset: string }>();
  /** Set by disconnect() or a kick: no more reconnects. */
  private stopped = false;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private stableTimer?: ReturnType<typeof setTimeout>;

  constructor(options: SocketOptions<P>);
  /** Forge's signature. */
  constructor(
    debug: boolean,
    onOpen: () => void,
    onMessage: (frame: ServerFrame<P>) => void,
    onError: (service: string, error: string) => void,
    url: string,
  );
  constructor(
    first: SocketOptions<P> | boolean,
    onOpen?: () => void,
    onMessage?: (frame: ServerFrame<P>) => void,
    onError?: (service: string, error: string) => void,
    url = '',
  ) {
    const o = typeof first === 'boolean' ? { debug: first, onOpen, onMessage, onError, url } : first;
    this.url = socketUrl(o.url);
    this.debug = o.debug ?? false;
    this.onOpen = o.onOpen;
    this.onMessage = o.onMessage;
    this.onError = o.onError ?? ((service, error) => console.error(`wsforge ${service}: ${error}`));
    this.onClose = o.onClose;
    this.WebSocket = o.WebSocket ?? globalThis.WebSocket;
    this.maxQueue = o.maxQueue ?? 100;
    this.requestTimeout = o.requestTimeout ?? 10_000;
    this.stableAfterMs = o.stableAfterMs ?? 5000;
    this.backoff = new Backoff(o.backoff);
    this.token = o.token;
    this.authInFirstMessage = o.authInFirstMessage ?? false;
    void this.open();
  }

  get connected(): boolean {
    return this.ws?.readyState === OPEN;
  }

  /** Sends a frame now, or queues it until the next connect; a wrong cmd or param fails to compile. */
  send(frame: ClientFrame<P>): void {
    this.push(frame);
  }

  /**
   * Sends a frame with a fresh `ref` and resolves with the server's reply, or rejects with a
   * RequestError carrying the server's error code or `timeout`. A request whose connection
   * drops before the answer times out: the reply cannot come on another connection.
   *
   * With `retry: true` it is retry-safe: the frame carries an `id` (`<socket prefix>-<ref>`) the
   * server de-duplicates per user (WS_DEDUPE_TTL_MS), and it is sent again, same `ref` and `id`,
   * after every reconnect until it is answered: it runs once and the promise gets that one answer.
   * Its `timeout` counts only time on an open connection (none while offline); it rejects with
   * `disconnected` when the socket closes for good (disconnect(), a kick).
   */
  request<K extends keyof P['client'] & string>(
    channel: string,
    cmd: K,
    param: ClientParam<P, K>,
    { timeout = this.requestTimeout, retry = false }: { timeout?: number; retry?: boolean } = {},
  ): Promise<ReplyOf<P, K>> {
    return this.call(channel, cmd, param, timeout, retry);
  }

  /**
   * Joins a channel; once the server confirms, the socket re-joins it after every reconnect,
   * asking for what it missed meanwhile (`recovered`; else a `recovery-failed` frame follows).
   */
  async join(channel: string): Promise<BuiltinReplies['join']> {
    const since = this.positions.get(channel);
    const reply = await this.builtin(channel, 'join', since ? { since } : {});
    this.channels.add(channel);
    return reply;
  }

  /** Who is in a channel now, one entry per user (also after a resume: presence is not replayed). */
  presence(channel: string): Promise<BuiltinReplies['presence']> {
    return this.builtin(channel, 'presence', {});
  }

  async leave(channel: string): Promise<BuiltinReplies['leave']> {
    const reply = await this.builtin(channel, 'leave', {});
    this.channels.delete(channel);
    // Else a left channel's position would go on taking one of the reconnect URL's `wsf_since` slots.
    this.positions.delete(channel);
    return reply;
  }

  /**
   * While waiting out a backoff delay after a drop, reconnects at once instead (a page's
   * "Reconnect now"). Does nothing when connected, already connecting, or closed for good.
   */
  reconnectNow(): void {
    if (this.stopped || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.open();
  }

  /** Closes for good: no reconnect. Pending requests settle by their timeout; retry-safe ones reject at once (`disconnected`). */
  disconnect(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(CloseCode.normal);
    this.failRetries();
  }

  /** Retry-safe requests cannot be sent any more: they reject with `disconnected`. */
  private failRetries(): void {
    for (const request of this.pending.values()) {
      if (!request.retry) continue;
      this.pending.delete(request.ref);
      request.fail('disconnected', `disconnected: no answer to this request will come`);
    }
  }

  private async open(): Promise<void> {
    let token: string | undefined;
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token;
    } catch (e) {
      this.onError('auth', `no token: ${(e as Error).message}`);
      return this.closed(CloseCode.authExpired, 'no token');
    }
    if (this.stopped) return;
    // The token to send in a first `auth` frame rather than in the handshake.
    const authToken = this.authInFirstMessage ? token : undefined;
    const ws = new this.WebSocket(this.resumeUrl(), token && authToken === undefined ? ['wsforge', `bearer.${token}`] : undefined);
    this.ws = ws;
    ws.onopen = () => {
      this.stableTimer = setTimeout(() => this.backoff.reset(), this.stableAfterMs);
      if (authToken !== undefined) {
        ws.send(JSON.stringify({ channel: '', cmd: 'auth', param: { token: authToken } } satisfies Message<'auth', BuiltinClientParams['auth']>));
      }
      // Re-join before flushing: queued frames may be meant for those channels.
      for (const channel of this.channels) {
        this.join(channel).catch((e: Error) => this.onError('join', `${channel}: ${e.message}`));
      }
      for (const text of this.queue.splice(0)) ws.send(text);
      // Retry-safe requests not answered yet go (again) with the same ref and id: the server answers each once.
      for (const request of this.pending.values()) {
        if (!request.retry || request.text === undefined) continue;
        if (this.debug) console.debug('wsforge → (retry)', request.text);
        ws.send(request.text);
        request.arm();
      }
      this.onOpen?.();
    };
    ws.onmessage = (event: { data: unknown }) => this.receive(String(event.data));
    ws.onerror = (event: { message?: string }) => this.onError('socket', event.message ?? 'connection error');
    ws.onclose = ({ code, reason }: { code: number; reason: string }) => this.closed(code, reason);
  }

  private closed(code: number, reason: string): void {
    clearTimeout(this.stableTimer);
    // A kick is final; so is a refused credential unless a token function can give a new one.
    if (code === CloseCode.kicked || (code === CloseCode.authExpired && typeof this.token !== 'function')) this.stopped = true;
    const retryInMs = this.stopped ? undefined : this.backoff.next();
    // Retry-safe requests wait for the next connection, their timers stopped; or fail for good.
    for (const request of this.pending.values()) if (request.retry) request.disarm();
    if (this.stopped) this.failRetries();
    if (retryInMs !== undefined) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.open();
      }, retryInMs);
    }
    if (this.debug) console.debug('wsforge closed', code, reason, retryInMs);
    this.onClose?.(code, reason, retryInMs);
  }

  /** Answers `token-expiring`: a fresh token from the token function, sent as the built-in `refresh`. */
  private async refresh(): Promise<void> {
    try {
      const token = await (this.token as () => string | Promise<string>)();
      await this.builtin('', 'refresh', { token });
    } catch (e) {
      this.onError('auth', `refresh failed: ${(e as Error).message}`);
    }
  }

  /**
   * The URL plus where this socket left off in channels it did not join itself (the route's
   * channel, joined by the server during the upgrade): `wsf_since=<epoch>:<offset>:<channel>`.
   */
  private resumeUrl(): string {
    const u = new URL(this.url);
    let n = 0;
    for (const [channel, p] of this.positions) {
      if (this.channels.has(channel) || n++ >= maxSinceParams) continue;
      u.searchParams.append('wsf_since', `${p.epoch}:${p.offset}:${channel}`);
    }
    return u.href;
  }

  /** A built-in cmd, answered by the service itself: param and reply typed by message.ts. */
  private builtin<K extends keyof BuiltinClientParams>(channel: string, cmd: K, param: BuiltinClientParams[K]): Promise<BuiltinReplies[K]> {
    return this.call(channel, cmd, param, this.requestTimeout);
  }

  private call<T>(channel: string, cmd: string, param: unknown, timeout: number, retry = false): Promise<T> {
    const ref = ++this.lastRef;
    const request = new Request<T>(ref, cmd, timeout, () => this.pending.delete(ref), retry);
    if (!retry) {
      this.pending.set(ref, request);
      this.push({ channel, cmd, param, ref });
      return request.promise;
    }
    if (this.stopped) {
      request.fail('disconnected', `disconnected: "${cmd}" not sent`);
      return request.promise;
    }
    const frame: Message = { channel, cmd, param, ref, id: `${this.idPrefix}-${ref}` };
    request.text = JSON.stringify(frame);
    this.pending.set(ref, request);
    if (this.debug) console.debug('wsforge →', frame);
    // Offline, it waits in `pending` (not in the queue, which may drop frames): sent on the next open.
    if (this.connected) {
      this.ws!.send(request.text);
      request.arm();
    }
    return request.promise;
  }

  private push(frame: Message): void {
    if (this.debug) console.debug('wsforge →', frame);
    const text = JSON.stringify(frame);
    if (this.connected) return this.ws!.send(text);
    if (this.stopped) return this.onError('socket', `disconnected: "${frame.cmd}" not sent`);
    this.queue.push(text);
    if (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.onError('queue', `more than ${this.maxQueue} frames queued while disconnected: dropped the oldest`);
    }
  }

  private receive(text: string): void {
    let frame: ServerFrame<P>;
    try {
      frame = JSON.parse(text);
    } catch {
      return this.onError('socket', 'frame from server is not JSON');
    }
    if (this.debug) console.debug('wsforge ←', frame);
    const { epoch, offset } = frame as { epoch?: string; offset?: string };
    if (epoch !== undefined && offset !== undefined) this.positions.set(frame.channel, { epoch, offset });
    if (frame.cmd === 'recovery-failed') this.positions.delete(frame.channel);
    const request = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (request && (frame.cmd === 'reply' || frame.cmd === 'error')) {
      this.pending.delete(request.ref);
      return request.settle(frame.cmd, frame.param);
    }
    // The server closes with CloseCode.kicked (4000) right after this; it must not be mistaken for an outage.
    if (frame.cmd === 'close-connection') this.stopped = true;
    if (frame.cmd === 'token-expiring' && typeof this.token === 'function') void this.refresh();
    this.onMessage?.(frame);
    if (frame.cmd === 'error') this.onError('server', (frame.param as { message: string }).message);
  }
}

/** A random prefix for frame ids: unique enough that no two sockets of one user share ids within the window. */
function randomPrefix(): string {
  const c = globalThis.crypto as { randomUUID?: () => string } | undefined;
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, '').slice(0, 20);
  return Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
}

/** At most this many `wsf_since` positions go into a reconnect URL. */
const maxSinceParams = 8;

/** ws(s): URLs as they are; http(s): URLs and paths (resolved against `location`) switched to ws(s). */
function socketUrl(url: string): string {
  const u = new URL(url, globalThis.location?.href);
  u.protocol = u.protocol.replace('http', 'ws');
  return u.href;
}
