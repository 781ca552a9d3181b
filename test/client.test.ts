import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket, WebSocketServer } from 'ws';
import { Backoff, RequestError, SnapshotSync, Socket, type ServerFrame, type SocketOptions } from '../client';
import type { AnyProtocol, Protocol } from '../server/socket/protocol';
import type { ExampleProtocol } from '../server/features/example/protocol';
import { createApp, type WsforgeApp } from '../server/app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `fn` returns something truthy. */
async function waitFor<T>(fn: () => T, what: string, ms = 3000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const srv = createNetServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Everything a test socket reported, in order. */
class Recorder<P extends Protocol<any, any, any> = AnyProtocol> {
  frames: Array<ServerFrame<P>> = [];
  errors: Array<[service: string, error: string]> = [];
  closes: Array<{ code: number; reason: string; retryInMs?: number; at: number }> = [];
  opens = 0;

  options(url: string): SocketOptions<P> {
    return {
      url,
      WebSocket,
      onOpen: () => this.opens++,
      onMessage: (frame) => this.frames.push(frame),
      onError: (service, error) => this.errors.push([service, error]),
      onClose: (code, reason, retryInMs) => this.closes.push({ code, reason, retryInMs, at: Date.now() }),
    };
  }
}

describe('Backoff', () => {
  it('draws each delay uniformly from [0, min(cap, base·2ⁿ)) (full jitter)', () => {
    const top = new Backoff({ base: 100, cap: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => top.next())).to.deep.equal([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff({ base: 100, cap: 1000, random: () => 0 });
    expect(Array.from({ length: 6 }, () => bottom.next())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    const half = new Backoff({ base: 100, cap: 1000, random: () => 0.5 });
    expect(Array.from({ length: 3 }, () => half.next())).to.deep.equal([50, 100, 200]);
  });

  it('defaults to base 500 ms and cap 20 s, and stays within them with Math.random', () => {
    const top = new Backoff({ random: () => 0.999999 });
    expect(top.next()).to.equal(499);
    for (let i = 0; i < 10; i++) top.next();
    expect(top.next()).to.equal(19_999);
    const b = new Backoff();
    for (let i = 0; i < 200; i++) expect(b.next()).to.be.within(0, 20_000);
  });

  it('stays finite and capped however many attempts fail', () => {
    const b = new Backoff({ base: 1, cap: 5000, random: () => 0.999999 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).to.equal(4999);
  });

  it('starts again from base after reset()', () => {
    const b = new Backoff({ base: 100, cap: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).to.equal(99);
  });
});

describe('SnapshotSync', () => {
  it('holds frames that arrive while the snapshot loads, applies them after it in order, and retries a failed load', async () => {
    const log: string[] = [];
    let release!: () => void;
    let fail = true;
    const sync = new SnapshotSync<number>({
      load: async () => {
        log.push('load');
        if (fail) {
          fail = false;
          throw new Error('not yet');
        }
        await new Promise<void>((resolve) => (release = resolve));
        log.push('snapshot');
      },
      apply: (n) => log.push(`frame ${n}`),
      loaded: () => log.push('loaded'),
      canRetry: () => true,
      onError: (e) => log.push(`error ${e.message}`),
      retryMs: 10,
    });
    sync.receive(1); // nothing loading: applied at once
    await sync.sync(); // fails, retried in 10 ms
    await new Promise((resolve) => setTimeout(resolve, 30));
    void sync.sync(); // already loading: ignored
    sync.receive(2);
    sync.receive(3);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    sync.receive(4);
    expect(log).to.deep.equal(['frame 1', 'load', 'error not yet', 'load', 'snapshot', 'frame 2', 'frame 3', 'loaded', 'frame 4']);
  });
});

describe('Socket types', () => {
  it('rejects wrong cmds and params at compile time (checked by tsc)', () => {
    // Never called: the assertions are the @ts-expect-error lines, which tsc verifies.
    const compileOnly = (s: Socket<ExampleProtocol>) => {
      s.send({ channel: '', cmd: 'chat', param: { text: 'hi' } });
      // @ts-expect-error unknown cmd
      s.send({ channel: '', cmd: 'chatt', param: { text: 'hi' } });
      // @ts-expect-error wrong param for the cmd
      s.send({ channel: '', cmd: 'chat', param: { room: 'x' } });
      const reply: Promise<{ room: string; created: boolean }> = s.request('', 'join-room', { room: 'r' });
      // @ts-expect-error the reply of ping has no room
      const wrong: Promise<{ room: string }> = s.request('', 'ping', {});
      return [reply, wrong];
    };
    expect(compileOnly).to.be.a('function');
  });
});

describe('Socket URL', () => {
  afterEach(() => {
    delete (globalThis as { location?: unknown }).location;
  });

  for (const [url, expected] of [
    ['ws://h:1/a?ch=x', 'ws://h:1/a?ch=x'],
    ['wss://h/a', 'wss://h/a'],
    ['http://h:1/a?ch=x', 'ws://h:1/a?ch=x'],
    ['https://h/a', 'wss://h/a'],
  ] as const) {
    it(`uses ${url} as ${expected}`, () => {
      const s = new Socket({ url, WebSocket, onError: () => {} });
      s.disconnect();
      expect(s.url).to.equal(expected);
    });
  }

  it('resolves a path against location, wss on https pages', () => {
    (globalThis as { location?: unknown }).location = { href: 'https://app.example/example?ch=1' };
    const s = new Socket({ url: '/example/socket?ch=room1', WebSocket, onError: () => {} });
    s.disconnect();
    expect(s.url).to.equal('wss://app.example/example/socket?ch=room1');
  });
});

describe('Socket against a bare ws server', () => {
  let wss: WebSocketServer;
  let url: string;
  const sockets: Socket<any>[] = [];
  const open = <P extends Protocol<any, any, any>>(options: SocketOptions<P>) => {
    const s = new Socket<P>(options);
    sockets.push(s);
    return s;
  };

  beforeEach(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('rejects a request with code timeout when no answer comes, and forgets its ref', async () => {
    const received: Array<{ ref: number }> = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(JSON.parse(String(data)))));
    const rec = new Recorder();
    const s = open(rec.options(url));
    const started = Date.now();
    const err = await s.request('', 'anything', {}, { timeout: 150 }).then(
      () => expect.fail('resolved'),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RequestError).and.include({ code: 'timeout' });
    expect(Date.now() - started).to.be.at.least(140);
    // A late reply is no longer matched: it is an ordinary frame.
    const [client] = wss.clients;
    client!.send(JSON.stringify({ channel: '', cmd: 'reply', param: 1, ref: received[0]!.ref }));
    await waitFor(() => rec.frames.length, 'the late reply');
    expect(rec.frames[0]).to.include({ cmd: 'reply' });
  });

  it('lets a request in flight when its connection drops time out instead of failing at once', async () => {
    wss.on('connection', (ws) => ws.on('message', () => ws.terminate()));
    const rec = new Recorder();
    const s = open({ ...rec.options(url), backoff: { base: 10, cap: 10 } });
    const started = Date.now();
    const err = await s.request('', 'anything', {}, { timeout: 300 }).then(
      () => expect.fail('resolved'),
      (e: unknown) => e,
    );
    expect(err).to.include({ code: 'timeout' });
    expect(Date.now() - started).to.be.at.least(290);
    expect(rec.closes[0]).to.include({ code: 1006 });
    expect(rec.opens).to.be.at.least(2, 'reconnected meanwhile');
  });

  it('waits between reconnect attempts as the backoff says, growing while connections are short-lived', async () => {
    const accepted: number[] = [];
    wss.on('connection', (ws) => {
      accepted.push(Date.now());
      ws.close(1011, 'boom');
    });
    const rec = new Recorder();
    open({ ...rec.options(url), backoff: { base: 40, cap: 200, random: () => 0.999999 } });
    await waitFor(() => accepted.length >= 5, 'five connections');
    expect(rec.closes.slice(0, 4).map((c) => [c.code, c.retryInMs])).to.deep.equal([
      [1011, 39],
      [1011, 79],
      [1011, 159],
      [1011, 199],
    ]);
    for (let i = 1; i < 5; i++) expect(accepted[i]! - accepted[i - 1]!).to.be.at.least(rec.closes[i - 1]!.retryInMs! - 5);
  });

  it('resets the backoff once a connection stayed open for stableAfterMs', async () => {
    wss.on('connection', (ws) => setTimeout(() => ws.close(1011), 120));
    const rec = new Recorder();
    open({ ...rec.options(url), stableAfterMs: 50, backoff: { base: 40, cap: 1000, random: () => 0.999999 } });
    await waitFor(() => rec.closes.length >= 3, 'three closes');
    expect(rec.closes.slice(0, 3).map((c) => c.retryInMs)).to.deep.equal([39, 39, 39]);
  });

  it('does not reconnect after a close-connection frame, even if the close itself is abrupt', async () => {
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(JSON.stringify({ channel: 'c', cmd: 'close-connection', param: { reason: 'bye' } }));
      setTimeout(() => ws.terminate(), 20);
    });
    const rec = new Recorder();
    const s = open({ ...rec.options(url), backoff: { base: 10, cap: 10 } });
    await waitFor(() => rec.closes.length, 'the close');
    await sleep(100);
    expect(connections).to.equal(1);
    expect(rec.frames.map((f) => f.cmd)).to.deep.equal(['close-connection']);
    expect(rec.closes[0]).to.include({ code: 1006, retryInMs: undefined });
    // Nothing will ever flush a queue now: frames are refused with a notice instead.
    s.send({ channel: '', cmd: 'chat', param: {} });
    expect(rec.errors.at(-1)).to.deep.equal(['socket', 'disconnected: "chat" not sent']);
  });

  it('does not reconnect after close code 4000', async () => {
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.close(4000, 'go away');
    });
    const rec = new Recorder();
    open({ ...rec.options(url), backoff: { base: 10, cap: 10 } });
    await waitFor(() => rec.closes.length, 'the close');
    await sleep(100);
    expect(connections).to.equal(1);
    expect(rec.closes).to.deep.equal([{ code: 4000, reason: 'go away', retryInMs: undefined, at: rec.closes[0]!.at }]);
  });

  it('reports a frame that is not JSON and keeps going', async () => {
    wss.on('connection', (ws) => {
      ws.send('not json');
      ws.send(JSON.stringify({ channel: 'c', cmd: 'hello', param: {} }));
    });
    const rec = new Recorder();
    open(rec.options(url));
    await waitFor(() => rec.frames.length, 'the second frame');
    expect(rec.errors).to.deep.equal([['socket', 'frame from server is not JSON']]);
    expect(rec.frames[0]).to.include({ cmd: 'hello' });
  });
});

describe('Socket against the wsforge server', () => {
  let forge: WsforgeApp | undefined;
  let base: string;
  const clients: Socket<any>[] = [];
  const open = <P extends Protocol<any, any, any> = ExampleProtocol>(options: SocketOptions<P>) => {
    const s = new Socket<P>({ backoff: { base: 20, cap: 50 }, ...options });
    clients.push(s);
    return s;
  };
  const sockets = () => forge!.sockets!;
  const channelsOf = (channel: string) => sockets().getConnectionsByChannel(channel);

  async function start(port = 0): Promise<void> {
    const app = createApp({ logLevel: 'silent', socket: { closeGraceMs: 100, shutdownTimeoutMs: 200 } });
    forge = app;
    app.server.listen(port, '127.0.0.1');
    await once(app.server, 'listening');
    base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    for (const s of clients.splice(0)) s.disconnect();
    await forge?.close();
    forge = undefined;
  });

  describe('connected', () => {
    beforeEach(() => start());

    it('sends frames and receives typed frames, over an http: URL too', async () => {
      const rec = new Recorder<ExampleProtocol>();
      const s = open(rec.options(`${base.replace('ws:', 'http:')}/example/socket?ch=room1`));
      await waitFor(() => s.connected, 'the connection');
      s.send({ channel: '', cmd: 'chat', param: { text: 'hello' } });
      const chat = await waitFor(() => rec.frames.find((f) => f.cmd === 'chat'), 'the chat frame');
      if (chat.cmd !== 'chat') throw new Error('unreachable');
      expect(chat.channel).to.equal('room1');
      expect(chat.param.text).to.equal('hello');
      expect(chat.param.time).to.be.a('number');
      expect(rec.opens).to.equal(1);
    });

    it('resolves requests with their typed replies', async () => {
      const s = open({ url: `${base}/example/socket?ch=room1`, WebSocket });
      const joined = await s.request('', 'join-room', { room: 'lobby' });
      expect(joined).to.deep.equal({ room: 'lobby', created: true });
      const before = Date.now();
      const pong = await s.request('', 'ping', {});
      expect(pong.timestamp).to.be.within(before - 1000, Date.now() + 1000);
      expect(channelsOf('lobby')).to.have.length(1);
    });

    it('rejects a request with the server error code; unsolicited errors reach onMessage and onError', async () => {
      const rec = new Recorder<ExampleProtocol>();
      const s = open(rec.options(`${base}/example/socket?ch=room1`));
      const err = await s.request('', 'chat', { text: '   ' }).then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(RequestError).and.include({ code: 'invalid_param' });
      // Its own arrival's presence-diff aside (every member is told of an arrival, the arriving one too).
      expect(rec.frames.filter((f) => f.cmd !== 'presence-diff')).to.deep.equal([], 'answers to requests are not passed to onMessage');

      s.send({ channel: 'elsewhere', cmd: 'chat', param: { text: 'hi' } });
      const frame = await waitFor(() => rec.frames.find((f) => f.cmd === 'error'), 'the error frame');
      expect(frame.param).to.include({ code: 'not_member' });
      expect(rec.errors).to.have.length(1);
      expect(rec.errors[0]![0]).to.equal('server');
      expect(rec.errors[0]![1]).to.match(/not a member of channel "elsewhere"/);
    });

    it('joins and leaves channels', async () => {
      const s = open({ url: `${base}/example/socket?ch=room1`, WebSocket });
      expect(await s.join('a')).to.deep.equal({ created: true });
      expect(await s.join('a')).to.deep.equal({ created: false });
      expect(channelsOf('a')).to.have.length(1);
      expect(await s.leave('a')).to.deep.equal({ removed: true });
      expect(channelsOf('a')).to.have.length(0);
    });

    it('re-joins its channels after the server drops the connection, before sending what was queued', async () => {
      const rec = new Recorder<ExampleProtocol>();
      // Slow enough to queue a frame before the reconnect.
      const s = open({ ...rec.options(`${base}/example/socket?ch=room1`), backoff: { base: 150, cap: 150, random: () => 0.999999 } });
      await s.join('a');
      await s.join('b');
      await s.join('gone');
      await s.leave('gone');
      const [first] = sockets().getConnections();
      sockets().disconnect(first!.id, 1011, 'test');
      await waitFor(() => rec.closes.length, 'the close');
      expect(rec.closes[0]).to.include({ code: 1011, reason: 'test' });
      expect(rec.closes[0]!.retryInMs).to.be.a('number');
      // Queued while disconnected; only valid once 'b' is joined again.
      expect(s.connected).to.equal(false);
      s.send({ channel: 'b', cmd: 'chat', param: { text: 'after reconnect' } });

      const chat = await waitFor(() => rec.frames.find((f) => f.cmd === 'chat'), 'the queued chat');
      expect(chat).to.include({ channel: 'b' });
      const [second] = sockets().getConnections();
      expect(second!.id).to.not.equal(first!.id);
      expect([...second!.channels].sort()).to.deep.equal(['a', 'b', 'room1']);
      expect(channelsOf('gone')).to.have.length(0);
      expect(rec.errors).to.deep.equal([]);
      expect(rec.opens).to.equal(2);
    });

    it('does not reconnect when kicked (close-connection, 4000)', async () => {
      const rec = new Recorder<ExampleProtocol>();
      const s = open(rec.options(`${base}/example/socket?ch=room1`));
      await waitFor(() => s.connected && sockets().getConnections().length, 'the connection');
      sockets().disconnect(sockets().getConnections()[0]!.id, 4000, 'kicked by test');
      await waitFor(() => rec.closes.length, 'the close');
      const frames = rec.frames.filter((f) => f.cmd !== 'presence-diff');
      expect(frames.map((f) => f.cmd)).to.deep.equal(['close-connection']);
      expect(frames[0]!.param).to.deep.equal({ reason: 'kicked by test' });
      expect(rec.closes[0]).to.include({ code: 4000, reason: 'kicked by test', retryInMs: undefined });
      await sleep(150);
      expect(sockets().getConnections()).to.have.length(0);
      expect(s.connected).to.equal(false);
    });

    it('does not reconnect after disconnect(); what is sent later is refused with a notice', async () => {
      const rec = new Recorder<ExampleProtocol>();
      const s = open({ ...rec.options(`${base}/example/socket?ch=room1`), requestTimeout: 200 });
      await waitFor(() => s.connected, 'the connection');
      s.disconnect();
      const err = await s.request('', 'ping', {}).then(
        () => expect.fail('resolved'),
        (e: unknown) => e,
      );
      expect(err).to.include({ code: 'timeout' });
      expect(rec.errors).to.deep.equal([['socket', 'disconnected: "ping" not sent']]);
      expect(rec.closes).to.have.length(1);
      expect(rec.closes[0]).to.include({ code: 1000, retryInMs: undefined });
      await sleep(100);
      expect(sockets().getConnections()).to.have.length(0);
    });

    it('reconnects after the server shuts down (1001)', async () => {
      const rec = new Recorder<ExampleProtocol>();
      const s = open(rec.options(`${base}/example/socket?ch=room1`));
      await waitFor(() => s.connected, 'the connection');
      await forge!.close();
      forge = undefined;
      await waitFor(() => rec.closes.length, 'the close');
      expect(rec.closes[0]).to.include({ code: 1001 });
      expect(rec.closes[0]!.retryInMs).to.be.a('number');
    });
  });

  it('queues at most maxQueue frames while disconnected, dropping the oldest, and sends them in order on connect', async () => {
    const port = await freePort();
    const rec = new Recorder<ExampleProtocol>();
    const s = open({ ...rec.options(`ws://127.0.0.1:${port}/example/socket?ch=q`), maxQueue: 3 });
    for (const text of ['1', '2', '3', '4', '5']) s.send({ channel: '', cmd: 'chat', param: { text } });
    const queueNotices = () => rec.errors.filter(([service]) => service === 'queue');
    expect(queueNotices()).to.have.length(2);
    expect(queueNotices()[0]![1]).to.match(/more than 3 frames queued/);
    await waitFor(() => rec.closes.length >= 2, 'two failed attempts');
    expect(rec.closes.every((c) => c.code === 1006 && c.retryInMs !== undefined)).to.equal(true);

    await start(port);
    await waitFor(() => rec.frames.filter((f) => f.cmd === 'chat').length >= 3, 'the flushed chats');
    await sleep(50);
    const texts = rec.frames.flatMap((f) => (f.cmd === 'chat' ? [f.param.text] : []));
    expect(texts).to.deep.equal(['3', '4', '5']);
  });
});
