/**
 * Shared test helpers: a real app on an ephemeral port and real `ws` clients that record
 * every frame. Register `afterEach(closeAll)` in every suite that uses them.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { WebSocket, type ClientOptions } from 'ws';
import { createApp, type AppOptions, type WsforgeApp } from '../server/app';
import type { Message, Ref } from '../server/socket/message';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A received frame as parsed from JSON. */
export type Frame = Message & { param: any };
/** A frame predicate, or an object whose fields must all equal the frame's (deep equality). */
export type Match = ((f: Frame) => boolean) | Partial<Frame>;
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A channel nobody joins: leaving it is a round trip without side effects. */
const syncChannel = 'test-sync-barrier';

/** What closeAll() tears down: clients first, so no app waits on a client that cannot answer. */
const openClients = new Set<TestClient>();
const openApps = new Set<TestApp>();

export interface TestApp {
  app: WsforgeApp;
  port: number;
  /** ws:// URL of a path on this app. */
  url(path: string): string;
  /** http:// URL of a path on this app. */
  httpUrl(path: string): string;
  close(): Promise<void>;
}

/** createApp (silent logs unless given) listening on 127.0.0.1 and an ephemeral port. */
export async function startApp(options: AppOptions = {}): Promise<TestApp> {
  const app = createApp({ logLevel: 'silent', ...options });
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  const { port } = app.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const t: TestApp = {
    app,
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    httpUrl: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => {
      openApps.delete(t);
      return (closing ??= app.close());
    },
  };
  openApps.add(t);
  return t;
}

/** Terminates every open test client, then closes every started app. */
export async function closeAll(): Promise<void> {
  for (const c of [...openClients]) c.terminate();
  await Promise.all([...openApps].map((t) => t.close()));
}

/** A ws client that records every frame it receives, in order. */
export class TestClient {
  /** Every text frame received, parsed. */
  readonly frames: Frame[] = [];
  /** Every binary frame received. */
  readonly binary: Buffer[] = [];
  /** Settles with the close code and reason once the connection is closed. */
  readonly closed: Promise<CloseInfo>;
  private closeInfo?: CloseInfo;
  private readonly listeners = new Set<() => void>();
  private refs = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.binary.push(data);
      else this.frames.push(JSON.parse(data.toString()) as Frame);
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        openClients.delete(this);
        resolve(this.closeInfo);
        this.notify();
      }),
    );
    ws.on('error', () => {}); // surfaces as `closed`; an unhandled 'error' would crash mocha
    openClients.add(this);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends an object as JSON; strings and buffers go as they are (text and binary frames). */
  send(frame: object | string | Buffer): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The first frame ever received (already recorded or still to come) that matches. */
  waitFor(match: Match, timeoutMs = 2000): Promise<Frame> {
    return this.find(0, match, timeoutMs);
  }

  /** The first matching frame received after this call. */
  next(match: Match, timeoutMs = 2000): Promise<Frame> {
    return this.find(this.frames.length, match, timeoutMs);
  }

  /** Sends a frame with a fresh ref (or the given one) and resolves with its `reply` or `error` frame. */
  request(channel: string, cmd: string, param: unknown = {}, opts: { ref?: Ref; timeoutMs?: number } = {}): Promise<Frame> {
    const ref = opts.ref ?? `req-${++this.refs}`;
    const answer = this.next((f) => f.ref === ref && (f.cmd === 'reply' || f.cmd === 'error'), opts.timeoutMs);
    this.send({ channel, cmd, param, ref });
    return answer;
  }

  /**
   * A round trip through the server with no side effect (the built-in `leave` of a channel
   * nobody joins). Whatever the server sent this client before handling it has arrived once this resolves.
   */
  async sync(): Promise<void> {
    const answer = await this.request(syncChannel, 'leave');
    if (answer.cmd !== 'reply') throw new Error(`sync failed: ${JSON.stringify(answer)}`);
  }

  /** Frames received since index `from` (sync()'s own replies left out), optionally only those matching. */
  since(from: number, match?: Match): Frame[] {
    const rest = this.frames.slice(from).filter((f) => f.channel !== syncChannel);
    return match ? rest.filter(matcher(match)) : rest;
  }

  /** Stops reading from the TCP socket: the server's writes pile up and nothing is answered. */
  pauseReading(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  close(code?: number, reason?: string): Promise<CloseInfo> {
    this.ws.close(code, reason);
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
    openClients.delete(this);
  }

  private find(from: number, match: Match, timeoutMs: number): Promise<Frame> {
    const test = matcher(match);
    const what = typeof match === 'function' ? match.toString() : JSON.stringify(match);
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < this.frames.length; checked++) {
          const f = this.frames[checked]!;
          if (test(f)) return done(() => resolve(f));
        }
        if (this.closeInfo) done(() => reject(new Error(`connection closed (${this.closeInfo!.code}) before a frame matching ${what}${this.recent()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for a frame matching ${what}${this.recent()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private recent(): string {
    return `; last frames: ${JSON.stringify(this.frames.slice(-3))}`;
  }
}

function matcher(match: Match): (f: Frame) => boolean {
  if (typeof match === 'function') return match;
  const entries = Object.entries(match);
  return (f) => entries.every(([k, v]) => isDeepStrictEqual((f as unknown as Record<string, unknown>)[k], v));
}

/** Opens a WebSocket and resolves once it is open; rejects with the HTTP status if the upgrade is refused. */
export async function connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, options);
  const client = new TestClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`upgrade to ${url} refused: HTTP ${res.statusCode}`));
    });
    ws.once('error', (err) => reject(new Error(`cannot connect to ${url}: ${err.message}`)));
  });
  return client;
}

/** Attempts an upgrade that should be refused; resolves with the HTTP status line and body. */
export function refusedUpgrade(url: string, timeoutMs = 2000, options: ClientOptions = {}): Promise<{ status: number; statusMessage: string; body: string }> {
  const ws = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${url} to refuse the upgrade`));
    }, timeoutMs);
    ws.on('error', () => {});
    ws.once('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted, expected a refusal`));
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', body });
      });
    });
  });
}

/** Retries `fn` (an assertion, or anything that throws until ready) until it passes or `timeoutMs` runs out. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 2000, intervalMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= end) {
        if (err instanceof Error) err.message = `still failing after ${timeoutMs} ms: ${err.message}`;
        throw err;
      }
    }
    await sleep(intervalMs);
  }
}

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be reproduced from its seed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
