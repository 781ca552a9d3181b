/**
 * The send path (frame.ts): our own frame encoder against a real ws client's parser at every
 * length class, the write batch coalescing a turn's frames from an async handler into one write
 * per socket, and a route's write delay (WS_WRITE_DELAY_MS) holding frames for its window.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import { z } from 'zod';
import type { Feature } from '../server/features/feature';
import { defineHandler, defineProtocol } from '../server/socket';
import { textFrame } from '../server/socket/frame';
import { closeAll, connect, eventually, startApp, type TestApp } from './helpers';
import { encodeFrame, Opcode, RawSocket } from './raw-socket';

const proto = defineProtocol({
  client: {
    /** Sends `count` frames of `size` characters to the sender, each after a microtask, or a loop turn. */
    burst: z.object({ size: z.number().int().min(0).max(200_000), count: z.number().int().min(1).max(100), gap: z.enum(['microtask', 'turn']).default('microtask') }),
    /** Sends one frame to the sender at once (no await), then closes it with 4000 if asked. */
    last: z.object({ close: z.boolean() }),
    /** Writes `chunk` to the route channel, as a kept frame or a volatile one. */
    post: z.object({ volatile: z.boolean() }),
  },
  server: { chunk: z.object({ i: z.number(), text: z.string() }) },
});

const handler = defineHandler(proto, {
  // Async on purpose: each write follows an await, where a microtask flush used to send each alone.
  burst: async (sockets, session, { size, count, gap }) => {
    const text = 'é'.repeat(size >> 1) + 'x'.repeat(size & 1);
    for (let i = 0; i < count; i++) {
      await (gap === 'turn' ? nextTurn() : Promise.resolve());
      sockets.writeConnection(session.id, proto.message(session.channel, 'chunk', { i, text }));
    }
  },
  post: (sockets, session, { volatile }) => {
    const msg = proto.message(session.channel, 'chunk', { i: volatile ? 1 : 0, text: volatile ? 'volatile' : 'kept' });
    if (volatile) sockets.writeChannelVolatile(msg);
    else sockets.writeChannel(msg);
  },
  last: (sockets, session, { close }) => {
    sockets.writeConnection(session.id, proto.message(session.channel, 'chunk', { i: 0, text: 'last' }));
    if (close) session.close(4000, 'done');
  },
});

const feature: Feature = ({ sockets }) => {
  sockets?.route('/send/socket', () => ({ channel: 'send', handler }), { anonymous: true });
  sockets?.route('/send/delayed', () => ({ channel: 'delayed', handler }), { anonymous: true, writeDelayMs: 80 });
};

/**
 * A raw client, and a count of the writes the server's TCP socket for it makes (its `_write` and
 * `_writev` calls: each is one syscall's worth), from the moment it is set up.
 */
async function rawClient(t: TestApp, path: string): Promise<{ raw: RawSocket; writes: () => number }> {
  const before = new Set(t.app.sockets!.getConnections().map((c) => c.id));
  const raw = await RawSocket.open(t.port, path);
  const conn = await eventually(() => {
    const c = t.app.sockets!.getConnections().find((x) => !before.has(x.id));
    expect(c).to.not.equal(undefined);
    return c!;
  });
  const socket = conn.socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  let writes = 0;
  for (const m of ['_write', '_writev'] as const) {
    const original = socket[m]!;
    socket[m] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }
  return { raw, writes: () => writes };
}

describe('send path', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ features: [feature], examplesEnabled: false });
  });
  after(closeAll);

  it('encodes text frames of every length class as a real ws client parses them (7, 16 and 64-bit lengths, UTF-8)', async () => {
    const c = await connect(t.url('/send/socket'));
    for (const size of [0, 1, 125, 126, 127, 65_535, 65_536, 70_001]) {
      const from = c.frames.length;
      c.send({ cmd: 'burst', param: { size, count: 1 } });
      const f = await c.waitFor((x) => x.cmd === 'chunk' && c.frames.indexOf(x) >= from);
      expect(Buffer.byteLength(f.param.text), `size ${size}`).to.equal(size);
    }
    // And the header bytes themselves, for the boundaries.
    expect([...textFrame('a'.repeat(125)).subarray(0, 2)]).to.deep.equal([0x81, 125]);
    expect([...textFrame('a'.repeat(126)).subarray(0, 4)]).to.deep.equal([0x81, 126, 0, 126]);
    expect([...textFrame('a'.repeat(65_536)).subarray(0, 10)]).to.deep.equal([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('sends the frames an async handler writes in one turn, after awaits, in one write', async () => {
    const { raw, writes } = await rawClient(t, '/send/socket');
    raw.text(JSON.stringify({ cmd: 'burst', param: { size: 100, count: 20 } }));
    await eventually(() => expect(raw.texts.filter((x) => x.includes('"chunk"'))).to.have.length(20));
    expect(writes(), 'socket writes for 20 frames written in one turn').to.equal(1);
    raw.destroy();
  });

  it('holds frames for the route write delay and sends what came in that window together', async () => {
    const { raw, writes } = await rawClient(t, '/send/delayed');
    const sent = Date.now();
    raw.text(JSON.stringify({ cmd: 'burst', param: { size: 100, count: 10, gap: 'turn' } }));
    await eventually(() => expect(raw.texts.filter((x) => x.includes('"chunk"'))).to.have.length(10));
    expect(Date.now() - sent, 'the first frames waited out the delay').to.be.at.least(70);
    expect(writes(), '10 frames written over 10 turns, within one 80 ms window').to.equal(1);
    raw.destroy();
  });

  it('without a delay, frames written over several turns go out as they come', async () => {
    const { raw, writes } = await rawClient(t, '/send/socket');
    const sent = Date.now();
    raw.text(JSON.stringify({ cmd: 'burst', param: { size: 100, count: 10, gap: 'turn' } }));
    await eventually(() => expect(raw.texts.filter((x) => x.includes('"chunk"'))).to.have.length(10));
    expect(Date.now() - sent).to.be.below(70);
    expect(writes(), 'one write per turn').to.equal(10);
    raw.destroy();
  });

  it('a frame written just before the server closes a connection arrives before the close frame', async () => {
    const { raw } = await rawClient(t, '/send/socket');
    raw.text(JSON.stringify({ cmd: 'last', param: { close: true } }));
    expect(await raw.closed()).to.equal(4000);
    expect(raw.texts.filter((x) => x.includes('"last"'))).to.have.length(1);
    expect(raw.framesAfterClose, 'the chunk went out before the close frame').to.equal(0);
  });

  it('a client that closes right behind a request gets a clean close: nothing follows the close frame', async () => {
    const { raw } = await rawClient(t, '/send/socket');
    // One TCP write: the server reads the request and the close in one turn, so the request's
    // frame and ws's answer to the close leave in the same flush: the close must come last.
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000);
    raw.write(Buffer.concat([encodeFrame(Opcode.text, JSON.stringify({ cmd: 'last', param: { close: false } })), encodeFrame(Opcode.close, close)]));
    expect(await raw.closed()).to.equal(1000);
    expect(raw.framesAfterClose).to.equal(0);
  });

  it('writeChannelVolatile sends a frame without a position, kept out of the history a resume reads', async () => {
    const a = await connect(t.url('/send/socket'));
    a.send({ cmd: 'post', param: { volatile: false } });
    const kept = (await a.waitFor((f) => f.cmd === 'chunk' && (f.param as { text: string }).text === 'kept')) as unknown as { offset?: string; epoch?: string };
    expect(kept.offset, 'a writeChannel frame has a position').to.be.a('string');
    a.send({ cmd: 'post', param: { volatile: true } });
    const volatile = (await a.waitFor((f) => f.cmd === 'chunk' && (f.param as { text: string }).text === 'volatile')) as unknown as { offset?: string };
    expect(volatile.offset).to.equal(undefined);
    // A client resuming from before the kept frame gets it back, and not the volatile one.
    const since = `${kept.epoch}:${Number(kept.offset) - 1}:send`;
    const b = await connect(t.url(`/send/socket?wsf_since=${encodeURIComponent(since)}`));
    await b.waitFor((f) => f.cmd === 'chunk' && (f.param as { text: string }).text === 'kept');
    a.send({ cmd: 'post', param: { volatile: false } });
    await b.waitFor((f) => f.cmd === 'chunk' && (f.param as { text: string }).text === 'kept' && b.frames.filter((x) => x.cmd === 'chunk').length >= 2);
    expect(b.frames.filter((f) => f.cmd === 'chunk').map((f) => (f.param as { text: string }).text)).to.deep.equal(['kept', 'kept']);
  });
});
