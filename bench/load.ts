/**
 * The load generator: a process of raw `ws` clients that speaks each server's protocol, so the
 * client-side cost is the same whichever server is measured. For Socket.IO it speaks engine.io v4
 * by hand: `0{…}` open → `40` connect → `40{sid}`, `42["event",…]` events, `2` ping → `3` pong.
 *
 * It holds named topologies: `groups` channels of `perGroup` connections each. The first
 * `publishersPerGroup` connections of every group may publish; every publisher is a member of its
 * channel too (it receives its own messages, as in a chat). On wsforge a topology uses one of the
 * app's real routes (`route`: the routes as they ship, in the dialect their clients speak);
 * the peers always speak their own. Started by bench/run.ts or test/perf.test.ts and driven over
 * IPC (ops below); nothing here opens anything but loopback addresses (127.0.0.0/8).
 *
 * Every payload is `#T<send time, ms>#<tag>#` padded with `x` to `payloadBytes` characters: the
 * tag is the sequence number (or `P<n>` for a barrier probe), the time gives the latency.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { serve } from './lib/ipc';

export type ServerKind = 'wsforge' | 'raw-ws' | 'socketio';

/**
 * wsforge routes the benchmark drives, as the app ships them:
 * - `example`: /example/socket?ch=<channel>, cmd `chat {text}` (anonymous, `authorize` hook, guest profiles, presence on);
 * - `chat`: /examples/chat/socket?room=<room>, cmd `say {text}` with the channel left empty as the chat page does
 *   (room route: `authorize` = roomAuthorize, async handler that appends to the store, per-user rate limit);
 * - `base`: /api/ws through the Base codec, as Base's chat page (base-core static/chat.html) connects and sends:
 *   no query (room `general`), `{type: 'chat', content}`; the channel name is ignored;
 * - `reference`: the old benchmark-only /bench/socket?ch=<channel>, cmd `publish {payload}` (no hook, sync handler, presence off).
 */
export type Route = 'example' | 'chat' | 'base' | 'reference';

export interface ConnectParams {
  key: string;
  kind: ServerKind;
  /** Which wsforge route (ignored by the peers, which have one). */
  route: Route;
  port: number;
  groups: number;
  perGroup: number;
  /** The first this-many members of each group may publish (0: none, e.g. a part of a topology whose publisher is in another process). */
  publishersPerGroup: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  timeoutMs: number;
  /** Channel name prefix; channel of group g is `${prefix}${g}` (or exactly `prefix` with `exactChannel`). */
  prefix: string;
  /** One channel named `prefix` (groups must be 1): a channel whose members several load processes share. */
  exactChannel?: boolean;
  /** Loopback source address of this topology's connections (127.0.0.2, …); default the system's choice (127.0.0.1). */
  localAddress?: string;
  /** Stop at timeoutMs, or at the first failed handshake, and keep what was opened (reported), instead of failing. */
  partial?: boolean;
  /** Count connections the server closes instead of failing the topology (the idle scenario reports them). */
  tolerateCloses?: boolean;
  /**
   * Connect `size` at a time, and after each chunk wait until no setup frame (presence, join
   * notices) has arrived for `quietMs`: one load generator reads for every member, and a route
   * that sends each member O(members) bytes per join would otherwise outrun it.
   */
  chunk?: { size: number; quietMs: number };
}
export interface ConnectResult {
  connections: number;
  wallMs: number;
  perSecond: number;
  /** Why a `partial` connect stopped early (undefined: all opened). */
  stopped?: string;
}

/** A topology's counters: frames received outside rounds (presence, join notices…), probes excluded. */
export interface Counters {
  connections: number;
  closed: number;
  closeCodes: Record<string, number>;
  setupFrames: number;
  setupBytes: number;
  /** setupFrames by kind: wsforge's `cmd` (`online-update`…), Base's `type`, Socket.IO's event. */
  setupKinds: Record<string, number>;
  /** Connections that have received barrier probe `k` (the `k` asked for). */
  probed: number;
}

export interface RoundParams {
  key: string;
  /** Publishes in this round (spread round-robin over the publishers). */
  messages: number;
  /** Most deliveries in flight (published but not yet received); bounds memory on both sides. */
  windowDeliveries: number;
  payloadBytes: number;
  /** Publishing stops here even if fewer than `messages` were sent. */
  capMs: number;
  /** How long to wait after the last publish for its deliveries. */
  drainMs: number;
  /** Use only the first this-many publishers (default all of the topology's). */
  publishers?: number;
  /**
   * Per-publisher token bucket the load generator keeps to itself (a client-side pacing, like a
   * user who types at most so fast): a publisher sends only with a token. Default: unpaced.
   */
  rate?: { burst: number; perSecond: number };
}
export interface RoundResult {
  requested: number;
  sent: number;
  /** sent × members per channel. */
  expected: number;
  received: number;
  /** Deliveries still missing after drainMs (should be 0). */
  lost: number;
  /** Frames received beyond `expected` (should be 0). */
  extra: number;
  /** capMs ran out before `requested` publishes were sent (the round is still valid). */
  capped: boolean;
  wallMs: number;
  deliveriesPerSecond: number;
  bytesPerDelivery: number;
  /** This load process's CPU over the round, µs. */
  loadCpuUs: number;
  /** The first frame beyond `expected`, for the report. */
  firstExtra?: string;
  /** Frames that were not deliveries (no payload: a presence announcement, an error…), by kind. */
  otherKinds: Record<string, number>;
  /** The first error frame among them (a measurement with one is void). */
  firstError?: string;
}

export interface LatencyParams {
  key: string;
  messages: number;
  ratePerSecond: number;
  payloadBytes: number;
  capMs: number;
  /** Use only the first this-many publishers (default all). */
  publishers?: number;
}
export interface LatencyResult {
  sent: number;
  expected: number;
  received: number;
  capped: boolean;
  /** Latencies of the subscribers' deliveries (the publisher's own copy left out), ms. */
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  loadCpuUs: number;
  otherKinds: Record<string, number>;
  firstError?: string;
}

const Mode = { setup: 0, count: 1, latency: 2 } as const;
type ModeValue = (typeof Mode)[keyof typeof Mode];

interface Conn {
  ws: WebSocket;
  group: number;
  publisher: boolean;
  /** Highest barrier probe received. */
  probe: number;
  /** Prefix and suffix of this connection's publish frame; the payload goes between. */
  pre: string;
  post: string;
  /** Token bucket of `RoundParams.rate` (NaN: full). */
  tokens: number;
  tokensAt: number;
}

const pad = 'x'.repeat(64 * 1024);
function payload(time: string, tag: string, bytes: number): string {
  const head = `#T${time}#${tag}#`;
  return head.length >= bytes ? head : head + pad.slice(0, bytes - head.length);
}

interface Dialect {
  url(port: number, ch: string): string;
  frame(ch: string): { pre: string; post: string };
  engineIo: boolean;
}
const q = encodeURIComponent;
const publishFrame = (ch: string) => ({ pre: `{"channel":${JSON.stringify(ch)},"cmd":"publish","param":{"payload":"`, post: '"}}' });

/** How each wsforge route is spoken to (what its own clients send). */
const wsforgeRoutes: Record<Route, Dialect> = {
  example: {
    url: (port, ch) => `ws://127.0.0.1:${port}/example/socket?ch=${q(ch)}`,
    frame: (ch) => ({ pre: `{"channel":${JSON.stringify(ch)},"cmd":"chat","param":{"text":"`, post: '"}}' }),
    engineIo: false,
  },
  chat: {
    url: (port, room) => `ws://127.0.0.1:${port}/examples/chat/socket?room=${q(room)}`,
    // The chat page leaves `channel` empty: the route channel `chat:<room>`.
    frame: () => ({ pre: '{"cmd":"say","param":{"text":"', post: '"}}' }),
    engineIo: false,
  },
  base: {
    // Exactly as Base's chat page (base-core static/chat.html): no query (room `general`), `{type: 'chat', content}`.
    url: (port) => `ws://127.0.0.1:${port}/api/ws`,
    frame: () => ({ pre: '{"type":"chat","content":"', post: '"}' }),
    engineIo: false,
  },
  reference: {
    url: (port, ch) => `ws://127.0.0.1:${port}/bench/socket?ch=${q(ch)}`,
    frame: publishFrame,
    engineIo: false,
  },
};

/** The peers' own dialects (one route each, whatever the scenario). */
const peers: Record<Exclude<ServerKind, 'wsforge'>, Dialect> = {
  'raw-ws': {
    url: (port, ch) => `ws://127.0.0.1:${port}/?ch=${q(ch)}`,
    frame: publishFrame,
    engineIo: false,
  },
  socketio: {
    url: (port, ch) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&ch=${q(ch)}`,
    frame: () => ({ pre: '42["publish","', post: '"]' }),
    engineIo: true,
  },
};

export function dialectOf(kind: ServerKind, route: Route): Dialect {
  return kind === 'wsforge' ? wsforgeRoutes[route] : peers[kind];
}

const cmdMarker = Buffer.from('"cmd":"');
const typeMarker = Buffer.from('"type":"');

/** A frame's kind for the setup tally: the value of its first `"cmd":"…"` (wsforge) or `"type":"…"` (Base), else its first 12 bytes. */
function frameKind(data: Buffer): string {
  let at = data.indexOf(cmdMarker);
  let len = cmdMarker.length;
  if (at < 0) {
    at = data.indexOf(typeMarker);
    len = typeMarker.length;
  }
  if (at < 0) return data.toString('latin1', 0, Math.min(12, data.length));
  const end = data.indexOf(0x22, at + len);
  return data.toString('latin1', at + len, end < 0 ? Math.min(data.length, at + len + 32) : Math.min(end, at + len + 32));
}

const probeMarker = Buffer.from('#P');
const timeMarker = Buffer.from('#T');

export class Topology {
  readonly conns: Conn[] = [];
  /** Publishers in round-robin order across groups (slot 0 of every group, then slot 1, …). */
  publishers: Conn[] = [];
  private byGroup: Conn[][] = [];
  private mode: ModeValue = Mode.setup;
  private failure?: Error;
  /** True after a barrier, until a round or latency run starts: nothing is in flight. */
  private clean = false;
  private closing = false;
  private closed = 0;
  private readonly closeCodes: Record<string, number> = {};
  private setupFrames = 0;
  private setupBytes = 0;
  private readonly setupKinds: Record<string, number> = {};
  private lastSetupFrameAt = 0;

  // barrier
  private probeSeq = 0;
  private probeTarget = 0;
  private probed = 0;
  // rounds
  private received = 0;
  private bytes = 0;
  private sent = 0;
  private total = 0;
  private expected = 0;
  private window = 0;
  private payloadBytes = 256;
  private nextPublisher = 0;
  private active: Conn[] = [];
  /** The one publisher of a latency run (its own copies are not samples). */
  private self?: Conn;
  private rate?: { burst: number; perSecond: number };
  private retry?: NodeJS.Timeout;
  private firstExtra?: string;
  /** Frames of the current round or latency run that were not deliveries, by kind; the first error frame. */
  private otherKinds: Record<string, number> = {};
  private firstError?: string;
  private latencies = new Float64Array(0);
  private latencyCount = 0;
  private wake?: () => void;

  constructor(readonly p: ConnectParams) {}

  get size(): number {
    return this.conns.length;
  }

  /** Opens groups × perGroup connections, `concurrency` handshakes at a time. */
  async connect(): Promise<ConnectResult> {
    const { groups, perGroup, concurrency, timeoutMs, kind, route, port, prefix } = this.p;
    if (this.p.exactChannel && groups !== 1) throw new Error('exactChannel needs groups = 1');
    const n = groups * perGroup;
    const dialect = dialectOf(kind, route);
    const start = performance.now();
    const deadline = Date.now() + timeoutMs;
    let next = 0;
    let limit = n;
    let stopped: string | undefined;
    const worker = async () => {
      while (next < limit && !this.closing && stopped === undefined) {
        if (Date.now() > deadline) {
          const msg = `connect: ${this.conns.length}/${n} connections after ${timeoutMs} ms`;
          if (!this.p.partial) throw new Error(msg);
          stopped = msg;
          return;
        }
        if (this.failure) throw this.failure;
        const i = next++;
        const group = Math.floor(i / perGroup);
        const ch = this.p.exactChannel ? prefix : `${prefix}${group}`;
        let conn: Conn;
        try {
          conn = await this.open(dialect.url(port, ch), dialect.engineIo, group, i % perGroup < this.p.publishersPerGroup, dialect.frame(ch), deadline - Date.now());
        } catch (err) {
          if (!this.p.partial) throw err;
          // A handshake cut short by the deadline is the deadline's doing, not a refusal.
          stopped ??= Date.now() >= deadline - 100 ? `connect: ${this.conns.length}/${n} connections after ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
          return;
        }
        if (this.closing) {
          conn.ws.terminate(); // another worker failed and the topology was closed meanwhile
          return;
        }
        this.conns.push(conn);
      }
    };
    const chunk = this.p.chunk;
    if (!chunk) await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    else {
      // In chunks, each followed by a pause until the members have read what the joins made the server send.
      while (next < n && stopped === undefined && !this.closing) {
        limit = Math.min(n, next + chunk.size);
        await Promise.all(Array.from({ length: Math.min(concurrency, limit - next) }, worker));
        while (performance.now() - this.lastSetupFrameAt < chunk.quietMs && Date.now() < deadline && !this.failure) {
          await new Promise((resolve) => setTimeout(resolve, chunk.quietMs / 4));
        }
        if (this.failure) throw this.failure;
      }
    }
    const wallMs = performance.now() - start;
    this.byGroup = Array.from({ length: groups }, () => []);
    for (const c of this.conns) if (c.publisher) this.byGroup[c.group]!.push(c);
    this.publishers = [];
    for (let slot = 0; slot < this.p.publishersPerGroup; slot++) for (const g of this.byGroup) if (g[slot]) this.publishers.push(g[slot]!);
    return { connections: this.conns.length, wallMs, perSecond: (this.conns.length / wallMs) * 1000, stopped };
  }

  private open(url: string, engineIo: boolean, group: number, publisher: boolean, frame: { pre: string; post: string }, timeoutMs: number): Promise<Conn> {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: Math.max(1, Math.min(timeoutMs, 15_000)),
      ...(this.p.localAddress ? { localAddress: this.p.localAddress } : {}),
    });
    const conn: Conn = { ws, group, publisher, probe: 0, ...frame, tokens: NaN, tokensAt: 0 };
    return new Promise<Conn>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`${url}: handshake not complete after ${timeoutMs} ms`)), Math.max(1, timeoutMs));
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      // Installed synchronously once the handshake is done, so no frame can slip past it.
      const ready = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.on('message', (data: Buffer) => {
          // engine.io ping (the only one-byte frame any of the three servers sends).
          if (data.length === 1) {
            if (data[0] === 0x32) ws.send('3');
            return;
          }
          this.onFrame(conn, data);
        });
        ws.once('close', (code, reason) => {
          if (this.closing) return;
          if (this.p.tolerateCloses) {
            this.closed++;
            this.closeCodes[code] = (this.closeCodes[code] ?? 0) + 1;
            return;
          }
          this.fail(new Error(`${this.p.key}: connection ${this.conns.indexOf(conn)} (channel ${this.p.prefix}${group}) closed during the benchmark: ${code} ${reason.toString()}`));
        });
        resolve(conn);
      };
      ws.on('error', (err) => fail(new Error(`${url}: ${err.message}`)));
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        fail(new Error(`${url}: upgrade refused with HTTP ${res.statusCode}`));
      });
      ws.once('close', (code) => fail(new Error(`${url}: closed (${code}) during the handshake`)));
      if (!engineIo) {
        ws.once('open', ready);
        return;
      }
      ws.on('message', (data: Buffer) => {
        const s = data.toString();
        if (s.startsWith('0{')) ws.send('40');
        else if (s.startsWith('40')) ready();
        else if (s.startsWith('44')) fail(new Error(`${url}: socket.io connect_error ${s}`));
        else if (s === '2') ws.send('3');
      });
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  private onFrame(conn: Conn, data: Buffer): void {
    const mode = this.mode;
    if (mode === Mode.count) {
      // A frame that is not a delivery (a presence announcement the server sends late, an error) is tallied apart.
      if (data.length < this.payloadBytes || data.indexOf(timeMarker) < 0) return this.other(data);
      this.bytes += data.length;
      if (++this.received > this.expected && this.firstExtra === undefined) this.firstExtra = data.toString('utf8', 0, 300);
      if (this.received > this.gate) this.pump();
      if (this.received === this.expected) this.wake?.();
      return;
    }
    if (mode === Mode.latency) {
      if (data.length < this.payloadBytes || data.indexOf(timeMarker) < 0) return this.other(data);
      // The publisher's own copy is left out (with one publisher; with several, each one's copies of the others' count).
      if (conn !== this.self) {
        const at = data.indexOf(timeMarker);
        const end = data.indexOf(0x23, at + 2); // '#'
        this.latencies[this.latencyCount++] = at < 0 ? NaN : performance.now() - Number(data.toString('latin1', at + 2, end));
      }
      if (++this.received === this.expected) this.wake?.();
      return;
    }
    // setup: barrier probes, and everything else (presence, join notices) counted and dropped.
    const at = data.indexOf(probeMarker);
    if (at < 0) {
      this.lastSetupFrameAt = performance.now();
      this.setupFrames++;
      this.setupBytes += data.length;
      const kind = frameKind(data);
      this.setupKinds[kind] = (this.setupKinds[kind] ?? 0) + 1;
      return;
    }
    const k = parseInt(data.toString('latin1', at + 2, data.indexOf(0x23, at + 2)), 10);
    if (k > conn.probe) {
      if (conn.probe < this.probeTarget && k >= this.probeTarget && ++this.probed === this.conns.length) this.wake?.();
      conn.probe = k;
    }
  }

  private other(data: Buffer): void {
    const kind = frameKind(data);
    this.otherKinds[kind] = (this.otherKinds[kind] ?? 0) + 1;
    if (kind === 'error' && this.firstError === undefined) this.firstError = data.toString('utf8', 0, 300);
  }

  /** Waits until `done()` or `ms` passed or the topology failed; resolves done(). */
  private waitFor(done: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(done());
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.wake = () => {
        if (done() || this.failure) finish();
      };
      this.wake();
    });
  }

  /** A publisher of `group` with a token (the group's next in turn), or undefined. */
  private groupPublisher(group: number): Conn | undefined {
    const ps = this.byGroup[group] ?? [];
    const now = performance.now();
    for (let i = 0; i < ps.length; i++) {
      const p = ps[(this.probeSeq + i) % ps.length]!;
      if (this.take(p, now)) return p;
    }
    return undefined;
  }

  /** Sends barrier probe `k` from one publisher of every group. */
  sendProbe(k: number): void {
    const body = payload('0', `P${k}`, this.payloadBytes);
    for (let g = 0; g < this.byGroup.length; g++) {
      const p = this.groupPublisher(g);
      if (p) p.ws.send(p.pre + body + p.post);
    }
  }

  /** How many connections have received probe `k` or a later one. */
  probedCount(k: number): number {
    let n = 0;
    for (const c of this.conns) if (c.probe >= k) n++;
    return n;
  }

  /**
   * Drains everything in flight: one publisher of each group sends a probe until one probe has
   * reached every connection, then one more (a fence). Per-connection order means nothing sent
   * before the fence can arrive after it, so the next round starts from zero with nothing pending.
   */
  async barrier(timeoutMs: number): Promise<{ probes: number; ms: number }> {
    this.check();
    this.mode = Mode.setup;
    const start = performance.now();
    const deadline = Date.now() + timeoutMs;
    let full = 0;
    for (let attempt = 1; attempt <= 100; attempt++) {
      if (Date.now() > deadline) break;
      const k = ++this.probeSeq;
      this.probeTarget = k;
      this.probed = 0;
      this.sendProbe(k);
      const all = await this.waitFor(() => this.probed === this.conns.length, Math.min(2_000, deadline - Date.now()));
      this.check();
      full = all ? full + 1 : 0;
      if (full === 2) {
        this.clean = true;
        return { probes: k, ms: performance.now() - start };
      }
    }
    throw new Error(`barrier: probes did not reach all ${this.conns.length} connections within ${timeoutMs} ms (last: ${this.probed})`);
  }

  /** Takes a token of `rate` from `p` (always true when unpaced). */
  private take(p: Conn, now: number): boolean {
    const r = this.rate;
    if (!r) return true;
    p.tokens = Number.isNaN(p.tokens) ? r.burst : Math.min(r.burst, p.tokens + ((now - p.tokensAt) / 1000) * r.perSecond);
    p.tokensAt = now;
    if (p.tokens < 1) return false;
    p.tokens -= 1;
    return true;
  }

  /** The next active publisher in turn that has a token; undefined when none has. */
  private nextFree(): Conn | undefined {
    const ps = this.active;
    if (!this.rate) {
      const p = ps[this.nextPublisher]!;
      if (++this.nextPublisher === ps.length) this.nextPublisher = 0;
      return p;
    }
    const now = performance.now();
    for (let i = 0; i < ps.length; i++) {
      const p = ps[this.nextPublisher]!;
      if (++this.nextPublisher === ps.length) this.nextPublisher = 0;
      if (this.take(p, now)) return p;
    }
    return undefined;
  }

  private gate = Infinity;

  /** Sends as many publishes as the window (and the publishers' tokens) allow. */
  private pump(): void {
    const g = this.p.perGroup;
    const w = this.window;
    while (this.sent < this.total && (this.sent + 1) * g - this.received <= w) {
      const p = this.nextFree();
      if (!p) {
        // Every publisher is out of tokens: try again when the first has one; frames do not wake us.
        this.gate = Infinity;
        this.retry ??= setTimeout(() => {
          this.retry = undefined;
          if (this.mode === Mode.count) this.pump();
        }, Math.max(1, Math.ceil(1000 / this.rate!.perSecond / this.active.length)));
        return;
      }
      p.ws.send(p.pre + payload(performance.now().toFixed(3), String(this.sent), this.payloadBytes) + p.post);
      this.sent++;
    }
    // The next receive count at which another publish fits.
    this.gate = this.sent < this.total ? (this.sent + 1) * g - w - 1 : Infinity;
  }

  private activate(publishers: number | undefined): void {
    const n = Math.min(publishers ?? this.publishers.length, this.publishers.length);
    if (n < 1) throw new Error(`${this.p.key}: no publisher`);
    this.active = this.publishers.slice(0, n);
    if (this.nextPublisher >= n) this.nextPublisher = 0;
  }

  /**
   * Publishes `messages` as fast as the window allows, or fewer if `capMs` runs out first, then
   * waits (at most `drainMs`) for every delivery of what was sent. The server's CPU read after
   * this returns therefore covers exactly `received` deliveries (when nothing was lost).
   */
  async round(r: RoundParams): Promise<RoundResult> {
    this.begin();
    this.activate(r.publishers);
    const g = this.p.perGroup;
    this.mode = Mode.count;
    this.received = 0;
    this.bytes = 0;
    this.sent = 0;
    this.firstExtra = undefined;
    this.total = r.messages;
    this.expected = r.messages * g;
    this.window = Math.max(r.windowDeliveries, g);
    this.payloadBytes = r.payloadBytes;
    this.rate = r.rate;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    this.pump();
    const cap = setTimeout(() => {
      // Stop publishing; what was sent is still awaited.
      this.total = this.sent;
      this.gate = Infinity;
      this.expected = this.sent * g;
      this.wake?.();
    }, r.capMs);
    await this.waitFor(() => this.received >= this.expected && this.sent === this.total, r.capMs + r.drainMs);
    clearTimeout(cap);
    clearTimeout(this.retry);
    this.retry = undefined;
    const wallMs = performance.now() - start;
    const loadCpu = process.cpuUsage(cpu0);
    const received = this.received;
    this.gate = Infinity;
    this.total = this.sent;
    this.expected = this.sent * g;
    // Anything beyond `expected` (error frames, duplicates) shows up here.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const extra = Math.max(0, this.received - Math.max(received, this.expected));
    this.rate = undefined;
    this.end();
    return {
      requested: r.messages,
      sent: this.sent,
      expected: this.expected,
      received,
      lost: Math.max(0, this.expected - received),
      extra,
      capped: this.sent < r.messages,
      wallMs,
      deliveriesPerSecond: (received / wallMs) * 1000,
      bytesPerDelivery: received ? this.bytes / this.received : 0,
      loadCpuUs: loadCpu.user + loadCpu.system,
      firstExtra: extra ? this.firstExtra : undefined,
      otherKinds: this.otherKinds,
      firstError: this.firstError,
    };
  }

  /** Publishes at a fixed rate (paced against a schedule, not the previous send) and measures each delivery's latency. */
  async latency(r: LatencyParams): Promise<LatencyResult> {
    this.begin();
    this.activate(r.publishers);
    const perMessage = this.p.perGroup;
    this.self = this.active.length === 1 ? this.active[0] : undefined;
    const samplesPerMessage = this.self ? perMessage - 1 : perMessage;
    this.mode = Mode.latency;
    this.received = 0;
    this.expected = r.messages * perMessage;
    this.latencies = new Float64Array(r.messages * samplesPerMessage);
    this.latencyCount = 0;
    this.payloadBytes = r.payloadBytes;
    const interval = 1000 / r.ratePerSecond;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const deadline = start + r.capMs;
    let sent = 0;
    for (let i = 0; i < r.messages; i++) {
      const due = start + i * interval;
      let now = performance.now();
      if (due > now) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.floor(due - now))));
        now = performance.now();
        // setTimeout is ms-grained: finish the last fraction with short turns of the loop.
        for (let spins = 0; now < due && spins < 1000; spins++) {
          await new Promise((resolve) => setImmediate(resolve));
          now = performance.now();
        }
      }
      if (now > deadline || this.failure) break;
      const p = this.active[i % this.active.length]!;
      p.ws.send(p.pre + payload(performance.now().toFixed(3), String(i), r.payloadBytes) + p.post);
      sent++;
    }
    this.expected = sent * perMessage;
    await this.waitFor(() => this.received >= this.expected, Math.max(0, deadline - performance.now()));
    const received = this.received;
    const cpu = process.cpuUsage(cpu0);
    this.end();
    const lat = this.latencies.subarray(0, this.latencyCount).sort();
    if (lat.length && Number.isNaN(lat[lat.length - 1]!)) throw new Error('latency: a delivery without a readable send time');
    const pct = (x: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(x * lat.length) - 1)]! : NaN);
    let sum = 0;
    for (const v of lat) sum += v;
    return {
      sent,
      expected: this.expected,
      received,
      capped: received < this.expected,
      samples: lat.length,
      p50: pct(0.5),
      p99: pct(0.99),
      max: lat.length ? lat[lat.length - 1]! : NaN,
      mean: lat.length ? sum / lat.length : NaN,
      loadCpuUs: cpu.user + cpu.system,
      otherKinds: this.otherKinds,
      firstError: this.firstError,
    };
  }

  counters(k = 0): Counters {
    return {
      connections: this.conns.length,
      closed: this.closed,
      closeCodes: { ...this.closeCodes },
      setupFrames: this.setupFrames,
      setupBytes: this.setupBytes,
      setupKinds: { ...this.setupKinds },
      probed: k ? this.probedCount(k) : 0,
    };
  }

  private begin(): void {
    this.check();
    if (!this.clean) throw new Error('run a barrier first: a measurement must start with nothing in flight');
    this.clean = false;
    this.otherKinds = {};
    this.firstError = undefined;
  }

  private end(): void {
    this.mode = Mode.setup;
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  /** Terminates every connection (no close handshake: the servers see them go at once). */
  close(): void {
    this.closing = true;
    clearTimeout(this.retry);
    for (const c of this.conns) c.ws.terminate();
  }
}

const topologies = new Map<string, Topology>();
function topology(key: string): Topology {
  const t = topologies.get(key);
  if (!t) throw new Error(`no topology "${key}"`);
  return t;
}

/** IPC ops; bench/lib/drive.ts has the typed wrappers. */
export const loadOps = {
  async connect(p: ConnectParams): Promise<ConnectResult> {
    if (topologies.has(p.key)) throw new Error(`topology "${p.key}" exists`);
    const t = new Topology(p);
    topologies.set(p.key, t);
    try {
      return await t.connect();
    } catch (err) {
      t.close();
      topologies.delete(p.key);
      throw err;
    }
  },
  barrier: ({ key, timeoutMs }: { key: string; timeoutMs: number }) => topology(key).barrier(timeoutMs),
  /** A barrier spread over several processes: probe `k` sent here… */
  sendProbe: ({ key, k }: { key: string; k: number }) => topology(key).sendProbe(k),
  /** …and counted by every process holding part of the channel. */
  counters: ({ key, k }: { key: string; k?: number }) => topology(key).counters(k),
  round: (p: RoundParams) => topology(p.key).round(p),
  latency: (p: LatencyParams) => topology(p.key).latency(p),
  close({ key }: { key: string }): void {
    topologies.get(key)?.close();
    topologies.delete(key);
  },
  cpu: () => process.cpuUsage(),
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve(loadOps, { node: process.version });
}
