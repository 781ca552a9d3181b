/**
 * Rules of docs/protocol.md, each against a real server and real clients: an empty or missing
 * `channel` is the route channel for every cmd, the built-ins included; a slow consumer that has
 * stopped reading never sees its 4008 close frame (it gets 1006); and the document lists every
 * code the server sends (server/socket/errors.ts).
 */
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import { z } from 'zod';
import { CloseCode, ErrorCode } from '../server/socket/errors';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import { closeAll, connect, startApp, within, type TestApp } from './helpers';
import { RawSocket } from './raw-socket';

const protocol = defineProtocol({
  client: { echo: z.object({ text: z.string() }) },
  server: { flood: z.object({ seq: z.number(), payload: z.string() }) },
});
const handler = defineHandler(protocol, {
  echo: (_sockets, _session, { text }, { channel }) => ({ text, channel }),
});
const path = '/rules/socket';

/** An app with one anonymous route whose clients may join any channel; `?ch=` is the route channel. */
async function start(socket: { maxBufferedBytes?: number; closeGraceMs?: number } = {}): Promise<TestApp> {
  const t = await startApp({ socket });
  t.app.sockets!.route(path, (_req, url) => ({ channel: url.searchParams.get('ch') ?? 'rules', handler }), {
    anonymous: true,
    authorize: () => true,
  });
  return t;
}

describe('protocol rules (docs/protocol.md)', () => {
  afterEach(closeAll);

  describe('an empty or missing channel is the route channel, for every cmd', () => {
    for (const [label, channel] of [
      ['an empty', ''],
      ['a missing', undefined],
    ] as const) {
      it(`join with ${label} channel joins the route channel again: {created: false}, still a member`, async () => {
        const t = await start();
        const c = await connect(t.url(`${path}?ch=home`));
        const ref = `join-${channel ?? 'none'}`;
        const answer = c.next((f) => f.ref === ref);
        c.send({ ...(channel === undefined ? {} : { channel }), cmd: 'join', param: {}, ref });
        expect(await answer).to.deep.include({ cmd: 'reply', channel: 'home', param: { created: false } });
        expect(t.app.sockets!.getConnections().map((s) => [...s.channels])).to.deep.equal([['home']]);
        expect(await c.request('', 'echo', { text: 'hi' })).to.deep.include({ cmd: 'reply', param: { text: 'hi', channel: 'home' } });
      });
    }

    it('leave, join and presence with "" act on the route channel', async () => {
      const t = await start();
      const c = await connect(t.url(`${path}?ch=home`));
      expect((await c.request('', 'presence')).param.users).to.have.length(1);
      expect(await c.request('', 'leave')).to.deep.include({ cmd: 'reply', channel: 'home', param: { removed: true } });
      expect(await c.request('', 'echo', { text: 'x' })).to.deep.include({ cmd: 'error', channel: 'home' });
      expect((await c.request('', 'presence')).param).to.include({ code: ErrorCode.notMember });
      expect(await c.request('', 'join')).to.deep.include({ cmd: 'reply', param: { created: true } });
      expect(await c.request('home', 'join')).to.deep.include({ cmd: 'reply', param: { created: false } });
      expect(await c.request('', 'echo', { text: 'y' })).to.deep.include({ cmd: 'reply', param: { text: 'y', channel: 'home' } });
    });

    it('a channel named explicitly is still that channel, not the route channel', async () => {
      const t = await start();
      const c = await connect(t.url(`${path}?ch=home`));
      expect((await c.request('other', 'echo', { text: 'x' })).param).to.include({ code: ErrorCode.notMember });
      expect(await c.request('other', 'join')).to.deep.include({ cmd: 'reply', channel: 'other', param: { created: true } });
      expect(await c.request('other', 'echo', { text: 'z' })).to.deep.include({ param: { text: 'z', channel: 'other' } });
    });
  });

  it('a slow consumer that has stopped reading never sees the 4008 close frame: it gets 1006', async () => {
    const t = await start({ maxBufferedBytes: 64 * 1024, closeGraceMs: 100 });
    const sockets = t.app.sockets!;
    const raw = await RawSocket.open(t.port, `${path}?ch=slow`);
    const [session] = sockets.getConnectionsByChannel('slow');
    let server: { code: number } | undefined;
    const loop = sockets.readLoop(session!.id).then((info) => (server = info));
    raw.pause();
    const payload = 'x'.repeat(1000);
    for (let seq = 0; !server && seq < 100_000; ) {
      for (let i = 0; i < 100; i++) sockets.writeChannel(protocol.message('slow', 'flood', { seq: seq++, payload }));
      await nextTurn();
    }
    expect(await within(loop, 3000, 'server side closed')).to.include({ code: CloseCode.slowConsumer });
    raw.socket.resume(); // reads whatever reached it, then the end of the connection
    expect(await raw.closed(5000), 'close frame the client read').to.equal(undefined);
    expect(raw.texts.length, 'frames read before the end').to.be.above(0);
  });

  it('lists every error code and every wsforge close code', () => {
    const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
    for (const code of Object.values(ErrorCode)) expect(doc, `error code ${code}`).to.include(`| \`${code}\` |`);
    // 1xxx are RFC 6455's, listed as far as wsforge or ws send them.
    for (const code of Object.values(CloseCode).filter((c) => c >= 4000)) expect(doc, `close code ${code}`).to.include(`| ${code} |`);
  });
});
