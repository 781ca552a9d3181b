/**
 * The load generator: ONE process of raw `ws` clients that speaks each server's protocol, so the
 * client-side cost is the same whichever server is measured. For Socket.IO it speaks engine.io v4
 * by hand: `0{…}` open → `40` connect → `40{sid}`, `42["event",…]` events, `2` ping → `3` pong.
 *
 * It holds named topologies: `groups` channels of `perGroup` connections each; the first
 * connection of every group is that group's publisher, and it is a member of the channel too
 * (it receives its own messages, as in a chat). Started by bench/run.ts or test/perf.test.ts and
 * driven over IPC (ops below); nothing here opens anything but 127.0.0.1.
 *
 * Every payload is `#T<send time, ms>#<tag>#` padded with `x` to `payloadBytes` characters: the
 * tag is the sequence number (or `P<n>` for a barrier probe), the time gives the latency.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { serve } from './lib/ipc';

export type ServerKind = 'wsforge' | 'raw-ws' | 'socketio';

export interface ConnectParams {
  key: string;
  kind: ServerKind;
  port: number;
  groups: number;
  perGroup: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  timeoutMs: number;
  /** Channel name prefix; channel of group g is `${prefix}${g}`. */
  prefix: string;
}
export interface ConnectResult {
  connections: number;
  wallMs: number;
  perSecond: number;
}

export interface RoundParams {
  key: string;
  /** Publishes in this round (spread round-robin over the groups' publishers). */
  messages: number;
  /** Most deliveries in flight (published but not yet received); bounds memory on both sides. */
  windowDeliveries: number;
  payloadBytes: number;
  /** Publishing stops here even if fewer than `messages` were sent. */
  capMs: number;
  /** How long to wait after the last publish for its deliveries. */
  drainMs: number;
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
}

export interface LatencyParams {
  key: string;
  messages: number;
  ratePerSecond: number;
  payloadBytes: number;
  capMs: number;
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
}

const pad = 'x'.repeat(64 * 1024);
function payload(time: string, tag: string, bytes: number): string {
  const head = `#T${time}#${tag}#`;
  return head.length >= bytes ? head : head + pad.slice(0, bytes - head.length);
}

/** How each server is spoken to. */
const dialects: Record<ServerKind, { url(port: number, ch: string): string; frame(ch: string): { pre: string; post: string }; engineIo: boolean }> = {
  wsforge: {
    url: (port, ch) => `ws://127.0.0.1:${port}/bench/socket?ch=${encodeURIComponent(ch)}`,
    frame: (ch) => ({ pre: `{"channel":${JSON.stringify(ch)},"cmd":"publish","param":{"payload":"`, post: '"}}' }),
    engineIo: false,
  },
  'raw-ws': {
    url: (port, ch) => `ws://127.0.0.1:${port}/?ch=${encodeURIComponent(ch)}`,
    frame: (ch) => ({ pre: `{"channel":${JSON.stringify(ch)},"cmd":"publish","param":{"payload":"`, post: '"}}' }),
    engineIo: false,
  },
  socketio: {
    url: (port, ch) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&ch=${encodeURIComponent(ch)}`,
    frame: () => ({ pre: '42["publish","', post: '"]' }),
    engineIo: true,
  },
};

const probeMarker = Buffer.from('#P');
const timeMarker = Buffer.from('#T');

export class Topology {
  readonly conns: Conn[] = [];
  readonly publishers: Conn[] = [];
  private mode: ModeValue = Mode.setup;
  private failure?: Error;
  /** True after a barrier, until a round or latency run starts: nothing is in flight. */
  private clean = false;
  private closing = false;

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
  private latencies = new Float64Array(0);
  private latencyCount = 0;
  private wake?: () => void;

  constructor(
    readonly p: ConnectParams,
  ) {}

  get size(): number {
    return this.conns.length;
  }

  /** Opens groups × perGroup connections, `concurrency` handshakes at a time. */
  async connect(): Promise<ConnectResult> {
    const { groups, perGroup, concurrency, timeoutMs, kind, port, prefix } = this.p;
    const n = groups * perGroup;
    const dialect = dialects[kind];
    const start = performance.now();
    const deadline = Date.now() + timeoutMs;
    let next = 0;
    const worker = async () => {
      while (next < n && !this.closing) {
        if (Date.now() > deadline) throw new Error(`connect: ${this.conns.length}/${n} connections after ${timeoutMs} ms`);
        if (this.failure) throw this.failure;
        const i = next++;
        const group = Math.floor(i / perGroup);
        const ch = `${prefix}${group}`;
        const conn = await this.open(dialect.url(port, ch), dialect.engineIo, group, i % perGroup === 0, dialect.frame(ch), deadline - Date.now());
        if (this.closing) {
          conn.ws.terminate(); // another worker failed and the topology was closed meanwhile
          return;
        }
        this.conns.push(conn);
        if (conn.publisher) this.publishers.push(conn);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    const wallMs = performance.now() - start;
    return { connections: this.conns.length, wallMs, perSecond: (this.conns.length / wallMs) * 1000 };
  }

  private open(url: string, engineIo: boolean, group: number, publisher: boolean, frame: { pre: string; post: string }, timeoutMs: number): Promise<Conn> {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: Math.max(1, Math.min(timeoutMs, 15_000)) });
    const conn: Conn = { ws, group, publisher, probe: 0, ...frame };
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
          if (!this.closing) this.fail(new Error(`${this.p.key}: connection ${this.conns.indexOf(conn)} (channel ${this.p.prefix}${group}) closed during the benchmark: ${code} ${reason.toString()}`));
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
      this.bytes += data.length;
      if (++this.received > this.gate) this.pump();
      if (this.received === this.expected) this.wake?.();
      return;
    }
    if (mode === Mode.latency) {
      if (!conn.publisher) {
        const at = data.indexOf(timeMarker);
        const end = data.indexOf(0x23, at + 2); // '#'
        this.latencies[this.latencyCount++] = at < 0 ? NaN : performance.now() - Number(data.toString('latin1', at + 2, end));
      }
      if (++this.received === this.expected) this.wake?.();
      return;
    }
    // setup: only barrier probes matter; everything else (presence, join noise) is drained.
    const at = data.indexOf(probeMarker);
    if (at < 0) return;
    const k = parseInt(data.toString('latin1', at + 2, data.indexOf(0x23, at + 2)), 10);
    if (k > conn.probe) {
      if (conn.probe < this.probeTarget && k >= this.probeTarget && ++this.probed === this.conns.length) this.wake?.();
      conn.probe = k;
    }
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

  /**
   * Drains everything in flight: each publisher sends a probe until one probe has reached every
   * connection, then one more (a fence). Per-connection order means nothing sent before the
   * fence can arrive after it, so the next round starts from zero with nothing pending.
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
      const body = payload('0', `P${k}`, this.payloadBytes);
      for (const p of this.publishers) p.ws.send(p.pre + body + p.post);
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

  private gate = Infinity;

  /** Sends as many publishes as the window allows. */
  private pump(): void {
    const g = this.p.perGroup;
    const w = this.window;
    while (this.sent < this.total && (this.sent + 1) * g - this.received <= w) {
      const p = this.publishers[this.nextPublisher]!;
      if (++this.nextPublisher === this.publishers.length) this.nextPublisher = 0;
      p.ws.send(p.pre + payload(performance.now().toFixed(3), String(this.sent), this.payloadBytes) + p.post);
      this.sent++;
    }
    // The next receive count at which another publish fits.
    this.gate = this.sent < this.total ? (this.sent + 1) * g - w - 1 : Infinity;
  }

  /**
   * Publishes `messages` as fast as the window allows, or fewer if `capMs` runs out first, then
   * waits (at most `drainMs`) for every delivery of what was sent. The server's CPU read after
   * this returns therefore covers exactly `received` deliveries (when nothing was lost).
   */
  async round(r: RoundParams): Promise<RoundResult> {
    this.begin();
    const g = this.p.perGroup;
    this.mode = Mode.count;
    this.received = 0;
    this.bytes = 0;
    this.sent = 0;
    this.total = r.messages;
    this.expected = r.messages * g;
    this.window = Math.max(r.windowDeliveries, g);
    this.payloadBytes = r.payloadBytes;
    this.nextPublisher = 0;
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
    await this.waitFor(() => this.received >= this.expected, r.capMs + r.drainMs);
    clearTimeout(cap);
    const wallMs = performance.now() - start;
    const loadCpu = process.cpuUsage(cpu0);
    const received = this.received;
    this.gate = Infinity;
    this.total = this.sent;
    this.expected = this.sent * g;
    // Anything beyond `expected` (error frames, duplicates) shows up here.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const extra = Math.max(0, this.received - Math.max(received, this.expected));
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
    };
  }

  /** Publishes at a fixed rate (paced against a schedule, not the previous send) and measures each delivery's latency. */
  async latency(r: LatencyParams): Promise<LatencyResult> {
    this.begin();
    const subscribersPerMessage = this.p.perGroup - 1;
    this.mode = Mode.latency;
    this.received = 0;
    this.expected = r.messages * this.p.perGroup;
    this.latencies = new Float64Array(r.messages * subscribersPerMessage);
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
      const p = this.publishers[i % this.publishers.length]!;
      p.ws.send(p.pre + payload(performance.now().toFixed(3), String(i), r.payloadBytes) + p.post);
      sent++;
    }
    this.expected = sent * this.p.perGroup;
    await this.waitFor(() => this.received >= this.expected, Math.max(0, deadline - performance.now()));
    const received = this.received;
    const cpu = process.cpuUsage(cpu0);
    this.end();
    const lat = this.latencies.subarray(0, this.latencyCount).sort();
    if (lat.length && Number.isNaN(lat[lat.length - 1]!)) throw new Error('latency: a delivery without a readable send time');
    const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)]! : NaN);
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
    };
  }

  private begin(): void {
    this.check();
    if (!this.clean) throw new Error('run a barrier first: a measurement must start with nothing in flight');
    this.clean = false;
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
