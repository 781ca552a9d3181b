/**
 * The handler test kit (server/testing, `wsforge/testing`): against a real server where that is
 * cheap (the same frames get the same answers), and its own bookkeeping (delivery, presence,
 * order, closing) on a small protocol.
 */
import { expect } from 'chai';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../server/config';
import { createKanbanFeature } from '../server/features/kanban/routes';
import { GuestIdentity } from '../server/guest';
import { defineHandler, defineProtocol, HttpError, type Message, SocketError, type TapEntry } from '../server/socket';
import type { PresenceDiff, PresenceUser } from '../server/socket/message';
import { MemoryStore } from '../server/store/memory-store';
import { HandlerTest, PushError } from '../server/testing';
import { closeAll, connect, startApp, type TestApp } from './helpers';

/** Frames a kanban client may send, each answered the same by a server and by the kit. */
const frames: Array<{ what: string; channel?: string; cmd: string; param?: unknown; ref?: string | number }> = [
  { what: 'a valid request', cmd: 'add', param: { column: 'todo', text: ' a ' } },
  { what: 'a param the schema refuses', cmd: 'move', param: { card: '1; drop', column: 'done' } },
  { what: 'a param the handler refuses', cmd: 'add', param: { column: 'todo', text: '' } },
  { what: 'an unknown column', cmd: 'add', param: { column: 'someday', text: 'x' } },
  { what: 'a second card', cmd: 'add', param: { column: 'todo', text: 'b' }, ref: 42 },
  { what: 'a card past the limit', cmd: 'add', param: { column: 'todo', text: 'c' } },
  { what: 'an unknown cmd', cmd: 'shout', param: {} },
  { what: 'no param at all', cmd: 'delete' },
  { what: 'another board, not joined', channel: 'kanban:elsewhere', cmd: 'sync' },
  { what: 'the empty channel (the route channel)', channel: '', cmd: 'edit', param: { card: 'c1', text: 'x', version: 9 } },
  { what: 'a join of another board', channel: 'kanban:elsewhere', cmd: 'join' },
  { what: 'a join outside the namespace', channel: 'lobby', cmd: 'join' },
  { what: 'presence of a channel not joined', channel: 'kanban:elsewhere', cmd: 'presence' },
  { what: 'a leave of a channel not joined', channel: 'nowhere', cmd: 'leave' },
  { what: 'a channel name too long', channel: 'x'.repeat(200), cmd: 'sync' },
  { what: 'a cmd too long', cmd: 'x'.repeat(65) },
];

describe('test kit: the same answers as a real server', () => {
  let t: TestApp;
  const feature = () => createKanbanFeature({ path: '/t/kanban', limits: { maxCards: 2 } });
  before(async () => {
    t = await startApp({ features: [feature()] });
  });
  after(closeAll);

  it('answers every frame of a session exactly like the server answers its client', async () => {
    const real = await connect(t.url('/t/kanban/socket?room=parity'));
    const kit = new HandlerTest();
    feature()({ router: Router(), sockets: kit, store: new MemoryStore(), guests: new GuestIdentity('s'), config: {} as Config });
    const session = await kit.connect({ url: '/t/kanban/socket?room=parity' });
    // Both are guests named after their connection ids: the names differ, nothing else may.
    const anonymous = <T>(frame: T): T => JSON.parse(JSON.stringify(frame).replace(/guest-[0-9a-f]{8}/g, 'guest-…')) as T;
    for (const [i, f] of frames.entries()) {
      const ref = f.ref ?? `r${i}`;
      const fromServer = anonymous(await real.request(f.channel ?? '', f.cmd, f.param, { ref }));
      const fromKit = anonymous(await session.request(f.cmd, f.param, { channel: f.channel, ref }));
      expect(fromKit, f.what).to.deep.equal(fromServer);
    }
    // Put in another board by the server: a frame naming it is refused by the room rule, on both.
    const [conn] = t.app.sockets!.getConnectionsByChannel('kanban:parity');
    await t.app.sockets!.join(conn!.id, 'kanban:elsewhere');
    await kit.join(session.id, 'kanban:elsewhere');
    const fromServer = await real.request('kanban:elsewhere', 'sync', {}, { ref: 'w' });
    expect(fromServer.param).to.deep.include({ code: 'wrong_room' });
    expect(await session.request('sync', {}, { channel: 'kanban:elsewhere', ref: 'w' })).to.deep.equal(fromServer);
  });

  it('delivers the same broadcasts: ops to the room, presence-diff to every member', async () => {
    const kit = new HandlerTest();
    feature()({ router: Router(), sockets: kit, store: new MemoryStore(), guests: new GuestIdentity('s'), config: {} as Config });
    // The server announces as soon as it may (a quiet channel at once, then at most every
    // WS_PRESENCE_INTERVAL_MS), the kit when idle: each arrival is waited for, so each is one diff on both sides.
    const counting = (n: number) => (f: Message) => f.cmd === 'presence-diff' && (f.param as PresenceDiff).count === n;
    const a = await connect(t.url('/t/kanban/socket?room=parity-2'));
    await a.waitFor(counting(1));
    const ka = await kit.connect({ url: '/t/kanban/socket?room=parity-2' });
    await kit.idle();
    const b = await connect(t.url('/t/kanban/socket?room=parity-2'));
    await Promise.all([a.waitFor(counting(2)), b.waitFor(counting(2))]);
    const kb = await kit.connect({ url: '/t/kanban/socket?room=parity-2' });
    await kit.idle();
    await a.request('', 'add', { column: 'todo', text: 'shared' });
    await ka.request('add', { column: 'todo', text: 'shared' });
    await b.sync();
    const shape = (f: Message) => ({ channel: f.channel, cmd: f.cmd, by: (f.param as { by?: string }).by?.startsWith('guest-'), version: (f.param as { version?: number }).version });
    const onServer = b.since(0).map(shape);
    expect(onServer.map((f) => f.cmd)).to.deep.equal(['presence-diff', 'op']);
    expect(kb.received.map(shape)).to.deep.equal(onServer);
    // Presence: the same frames, field for field (the guests' ids and names aside), the joiner told too.
    const idOf = async (c: typeof a) => ((await c.request('', 'sync')).param as { me: { id: string } }).me.id;
    const who = { [await idOf(a)]: 'a', [await idOf(b)]: 'b', [ka.profile.id]: 'a', [kb.profile.id]: 'b' };
    const diffs = (frames: Message[]) =>
      frames
        .filter((f) => f.cmd === 'presence-diff')
        .map((f) => {
          const d = f.param as PresenceDiff;
          const user = (u: PresenceUser) => ({ fields: Object.keys(u).sort(), who: who[u.userId], guest: u.name.startsWith('guest-') });
          return { channel: f.channel, fields: Object.keys(d).sort(), joins: d.joins.map(user), leaves: d.leaves.map(user), count: d.count };
        });
    const diff = (whom: string, count: number) => ({ channel: 'kanban:parity-2', fields: ['count', 'joins', 'leaves'], joins: [{ fields: ['name', 'userId'], who: whom, guest: true }], leaves: [], count });
    expect(diffs(a.since(0))).to.deep.equal([diff('a', 1), diff('b', 2)]);
    expect(diffs(b.since(0))).to.deep.equal([diff('b', 2)]);
    expect(diffs(ka.received)).to.deep.equal(diffs(a.since(0)));
    expect(diffs(kb.received)).to.deep.equal(diffs(b.since(0)));
  });
});

const echo = defineProtocol({
  client: {
    echo: z.object({ text: z.string().min(1) }),
    slow: z.object({ ms: z.number().int().min(0).max(100) }),
    fail: z.object({ how: z.enum(['socket', 'other']) }),
    shout: z.object({ text: z.string() }),
    whisper: z.object({ text: z.string() }),
    tell: z.object({ userId: z.string(), text: z.string() }),
    all: z.object({}),
  },
  server: {
    said: z.object({ text: z.string(), by: z.string() }),
    opened: z.object({ channels: z.array(z.string()) }),
  },
  replies: {
    echo: z.object({ text: z.string(), channel: z.string() }),
    slow: z.object({ ms: z.number() }),
  },
});

describe('test kit: sessions and delivery', () => {
  const events: string[] = [];
  const handler = defineHandler(
    echo,
    {
      echo: (_s, _session, { text }, { channel }) => ({ text, channel }),
      slow: async (_s, _session, { ms }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`slow ${ms}`);
        return { ms };
      },
      fail: (_s, _session, { how }) => {
        throw how === 'socket' ? new SocketError('nope', 'refused on purpose') : new Error('a bug');
      },
      shout: (sockets, session, { text }, { channel }) => sockets.writeChannel(echo.message(channel, 'said', { text, by: session.profile.name }), session.id),
      whisper: (sockets, session, { text }, { channel }) => sockets.writeChannelVolatile(echo.message(channel, 'said', { text, by: session.profile.name }), session.id),
      tell: (sockets, session, { userId, text }) => sockets.writeUser(userId, echo.message(session.channel, 'said', { text, by: session.profile.name })),
      all: (sockets, session) => sockets.writeAll(echo.message('', 'said', { text: 'to all', by: session.profile.name })),
    },
    {
      onOpen: (sockets, session) => {
        events.push(`open ${session.profile.name}`);
        sockets.writeConnection(session.id, echo.message(session.channel, 'opened', { channels: [...session.channels] }));
      },
      onClose: (_sockets, session) => {
        events.push(`close ${session.profile.name} in ${session.channels.join(',')}`);
      },
    },
  );
  const ann = { id: 'ann', name: 'Ann' };
  const bob = { id: 'bob', name: 'Bob' };
  beforeEach(() => (events.length = 0));

  it('opens in the route channel (plus given channels), runs onOpen and onClose, settles closed', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const a = await kit.connect({ profile: ann, channel: 'room', channels: ['side'] });
    expect(a.frames('opened').map((f) => f.param)).to.deep.equal([{ channels: ['room', 'side'] }]);
    expect(kit.getConnection(a.id)).to.equal(a);
    const closed = kit.readLoop(a.id);
    expect(await a.close(4100, 'bye')).to.deep.equal({ code: 4100, reason: 'bye' });
    expect(await closed).to.deep.equal({ code: 4100, reason: 'bye' });
    expect(events).to.deep.equal(['open Ann', 'close Ann in room,side']);
    expect(a.channels).to.deep.equal([]);
    expect(kit.getConnection(a.id)).to.equal(undefined);
    await a.push('echo', { text: 'x' }).then(
      () => expect.fail('a closed session cannot push'),
      (err: Error) => expect(err.message).to.match(/closed/),
    );
  });

  it('replies, validates and answers failures like the service: SocketError code, else internal_error', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const a = await kit.connect({ profile: ann, channel: 'room' });
    expect(await a.push('echo', { text: 'hi' })).to.deep.equal({ text: 'hi', channel: 'room' });
    expect(await a.request('echo', { text: '' }, { ref: 1 })).to.deep.equal({
      channel: 'room',
      cmd: 'error',
      param: { code: 'invalid_param', message: 'invalid param for "echo": text: Too small: expected string to have >=1 characters' },
      ref: 1,
    });
    const socketError = await a.push('fail', { how: 'socket' }).catch((e: unknown) => e);
    expect(socketError).to.be.instanceOf(PushError).and.include({ code: 'nope', message: 'refused on purpose', thrown: undefined });
    const bug = (await a.push('fail', { how: 'other' }).catch((e: unknown) => e)) as PushError;
    expect(bug).to.include({ code: 'internal_error', message: 'internal error' });
    expect((bug.thrown as Error).message).to.equal('a bug');
    expect(await a.pushBinary(Buffer.from([1])).catch((e: PushError) => e.code)).to.equal('binary_unsupported');
    expect(a.errors).to.equal(4);
    expect(a.messagesIn).to.equal(5);
  });

  it('handles one session’s frames strictly in order, even when a handler is async', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const a = await kit.connect({ profile: ann });
    const answers = await Promise.all([a.push('slow', { ms: 30 }), a.push('slow', { ms: 0 }), a.push('echo', { text: 'last' })]);
    expect(events.slice(1)).to.deep.equal(['slow 30', 'slow 0']);
    expect(answers).to.deep.equal([{ ms: 30 }, { ms: 0 }, { text: 'last', channel: 'test' }]);
  });

  it('delivers channel writes to members minus except, user writes to every tab, writeAll to everyone', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const a = await kit.connect({ profile: ann, channel: 'room' });
    const a2 = await kit.connect({ profile: ann, channel: 'other' });
    const b = await kit.connect({ profile: bob, channel: 'room' });
    await a.push('shout', { text: 'hello' });
    expect(b.frames('said').map((f) => f.param)).to.deep.equal([{ text: 'hello', by: 'Ann' }]);
    expect(a.frames('said')).to.deep.equal([]);
    expect(a2.frames('said')).to.deep.equal([]);
    expect(kit.sent.at(-1)).to.deep.include({ target: { type: 'channel', channel: 'room' }, except: [a.id], to: [b.id] });
    expect(kit.sent.at(-1)).to.not.have.property('volatile');
    await a.push('whisper', { text: 'quietly' });
    expect(b.frames('said').map((f) => f.param.text)).to.deep.equal(['hello', 'quietly']);
    expect(kit.sent.at(-1)).to.deep.include({ target: { type: 'channel', channel: 'room' }, except: [a.id], to: [b.id], volatile: true });
    await b.push('tell', { userId: 'ann', text: 'psst' });
    expect([a, a2, b].map((s) => s.frames('said').filter((f) => f.param.text === 'psst').length)).to.deep.equal([1, 1, 0]);
    await b.push('all', {});
    expect([a, a2, b].map((s) => s.frames('said').filter((f) => f.param.text === 'to all').length)).to.deep.equal([1, 1, 1]);
    // The first arrivals are announced to the channel when the kit is idle: one presence-diff, to every member.
    await kit.idle();
    expect(kit.channelFrames('room').map((f) => f.cmd)).to.deep.equal(['said', 'said', 'presence-diff']);
    const arrivals = kit.sent.find((f) => f.msg.cmd === 'presence-diff' && f.msg.channel === 'room');
    expect(arrivals).to.deep.include({ target: { type: 'channel', channel: 'room' }, except: [], to: [a.id, b.id] });
    expect(arrivals?.msg.param).to.deep.equal({ joins: [{ userId: 'ann', name: 'Ann' }, { userId: 'bob', name: 'Bob' }], leaves: [], count: 2 });
  });

  it('applies the route rules to built-in joins and frames: namespace, authorize, membership', async () => {
    const kit = new HandlerTest<typeof echo>(handler, { namespace: 'team', authorize: (_s, channel, action) => channel !== 'team:secret' && !(action === 'publish' && channel === 'team:readonly') });
    const a = await kit.connect({ profile: ann, channel: 'team:a' });
    const b = await kit.connect({ profile: bob, channel: 'team:a' });
    expect(await a.join('team:b')).to.deep.equal({ created: true });
    expect(await b.join('team:b')).to.deep.equal({ created: false });
    expect(await a.presence('team:b')).to.deep.equal({ users: [ann, bob] });
    expect(await a.push('echo', { text: 'x' }, { channel: 'team:b' })).to.deep.equal({ text: 'x', channel: 'team:b' });
    const code = (p: Promise<unknown>) => p.then(() => 'reply', (e: PushError) => `${e.code}: ${e.message}`);
    expect(await code(a.join('team:secret'))).to.equal('forbidden: not allowed to join channel "team:secret"');
    expect(await code(a.join('elsewhere'))).to.equal('forbidden: this route\'s clients may join only "team:" channels');
    expect(await code(a.push('echo', { text: 'x' }, { channel: 'team:c' }))).to.equal('not_member: not a member of channel "team:c": join it first');
    await a.join('team:readonly');
    expect(await code(a.push('echo', { text: 'x' }, { channel: 'team:readonly' }))).to.equal('forbidden: not allowed to publish channel "team:readonly"');
    expect(await a.leave('team:b')).to.deep.equal({ removed: false });
    expect(await b.leave('team:b')).to.deep.equal({ removed: true });
    const open = new HandlerTest<typeof echo>(handler);
    const c = await open.connect({ profile: ann });
    expect(await code(c.join('x'))).to.equal('forbidden: this route lets clients join no channel (it has no authorize hook)');
  });

  it('tracks presence per user across tabs, and announces only the first arrival and the last departure', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const b = await kit.connect({ profile: bob, channel: 'room' });
    const a1 = await kit.connect({ profile: ann, channel: 'room' });
    const a2 = await kit.connect({ profile: ann, channel: 'room' });
    await kit.idle();
    expect(await kit.presence('room')).to.deep.equal([bob, ann]);
    await a1.close();
    await kit.idle();
    expect(await kit.presence('room')).to.deep.equal([bob, ann]);
    await a2.close();
    await kit.idle();
    expect(await kit.presence('room')).to.deep.equal([bob]);
    expect(b.frames('presence-diff').map((f) => f.param)).to.deep.equal([
      { joins: [{ userId: 'bob', name: 'Bob' }, { userId: 'ann', name: 'Ann' }], leaves: [], count: 2 },
      { joins: [], leaves: [{ userId: 'ann', name: 'Ann' }], count: 1 },
    ]);
    const quiet = new HandlerTest<typeof echo>(handler, { presenceUpdates: false });
    const q = await quiet.connect({ profile: bob, channel: 'room' });
    await quiet.connect({ profile: ann, channel: 'room' });
    await quiet.idle();
    expect(q.frames('presence-diff')).to.deep.equal([]);
  });

  it('coalesces joins and leaves into one presence-diff per channel when idle, cancels come-and-go, drops names above presenceListMax', async () => {
    const kit = new HandlerTest<typeof echo>(handler, { limits: { presenceListMax: 2 } });
    const as = (p: { id: string; name: string }) => ({ userId: p.id, name: p.name });
    const cy = { id: 'cy', name: 'Cy' };
    const dan = { id: 'dan', name: 'Dan' };
    const b = await kit.connect({ profile: bob, channel: 'room' });
    await kit.idle();
    const a = await kit.connect({ profile: ann, channel: 'room' });
    const c = await kit.connect({ profile: cy, channel: 'room' });
    expect(b.frames('presence-diff'), 'nothing before the kit is idle').to.have.length(1);
    await c.close(); // came and went before the announcement: in neither list
    await kit.idle();
    expect(b.frames('presence-diff').map((f) => f.param)).to.deep.equal([
      { joins: [as(bob)], leaves: [], count: 1 },
      { joins: [as(ann)], leaves: [], count: 2 },
    ]);
    expect(a.frames('presence-diff').map((f) => f.param), 'the joiner is told too').to.deep.equal([{ joins: [as(ann)], leaves: [], count: 2 }]);
    // Gone and back between two announcements: nothing to say.
    await kit.leave(a.id, 'room');
    await kit.join(a.id, 'room');
    await kit.idle();
    expect(b.frames('presence-diff')).to.have.length(2);
    // Above the limit only the count changes; at or below it, names again.
    const d = await kit.connect({ profile: dan, channel: 'room' });
    await kit.idle();
    expect(b.frames('presence-diff').at(-1)?.param).to.deep.equal({ joins: [], leaves: [], count: 3 });
    await d.close();
    await kit.idle();
    expect(b.frames('presence-diff').at(-1)?.param).to.deep.equal({ joins: [], leaves: [as(dan)], count: 2 });
    expect(kit.channelFrames('room').every((f) => f.cmd === 'presence-diff')).to.equal(true);
  });

  it('disconnects a session or every tab of a user, with close-connection for 4000', async () => {
    const kit = new HandlerTest<typeof echo>(handler);
    const a1 = await kit.connect({ profile: ann });
    const a2 = await kit.connect({ profile: ann });
    const b = await kit.connect({ profile: bob });
    kit.disconnectUser('ann', 4000, 'bye');
    expect(await Promise.all([a1.closed, a2.closed])).to.deep.equal([
      { code: 4000, reason: 'bye' },
      { code: 4000, reason: 'bye' },
    ]);
    expect(a1.frames('close-connection').map((f) => f.param)).to.deep.equal([{ reason: 'bye' }]);
    kit.disconnect(b.id, 1001, 'restart');
    expect(await b.closed).to.deep.equal({ code: 1001, reason: 'restart' });
    expect(b.frames('close-connection')).to.deep.equal([]);
    expect(kit.getConnections()).to.deep.equal([]);
    await kit.readLoop('nobody').then(
      () => expect.fail('unknown connection'),
      (e: Error) => expect(e.message).to.match(/unknown connection/),
    );
  });

  it('enforces the channel limits, and reports counts, status and a tap like a node', async () => {
    const kit = new HandlerTest<typeof echo>(handler, { limits: { maxChannelsPerConnection: 2 }, node: 'n1' });
    const entries: TapEntry[] = [];
    const stop = kit.tap.subscribe((e) => entries.push(e));
    const a = await kit.connect({ profile: ann, channel: 'room' });
    await kit.join(a.id, 'two');
    const full = await kit.join(a.id, 'three').catch((e: SocketError) => e.code);
    expect(full).to.equal('limit_exceeded');
    expect(await kit.join('gone', 'x').catch((e: SocketError) => e.code)).to.equal('unknown_connection');
    await a.push('echo', { text: 'x' });
    await kit.idle(); // announces the arrivals in room and two
    stop();
    expect(kit.tap.active).to.equal(false);
    expect(entries.map((e) => `${e.dir} ${e.target} ${e.cmd}`)).to.deep.equal(['out conn opened', 'in conn echo', 'out channel presence-diff', 'out channel presence-diff']);
    expect(kit.counts()).to.deep.include({ connections: 1, channels: 2, messagesIn: 1, errors: 0 });
    const status = kit.status();
    expect(status).to.deep.include({ node: 'n1' });
    expect(status.channels).to.deep.equal([
      { key: 'room', members: 1, users: 1 },
      { key: 'two', members: 1, users: 1 },
    ]);
    expect(status.connections[0]).to.deep.include({ id: a.id, node: 'n1', profile: ann, channel: 'room', channels: ['room', 'two'], route: '/test/socket' });
    expect(await kit.clusterStatus()).to.deep.include({ nodes: ['n1'], missing: [] });
    await kit.close();
    expect(await a.closed).to.deep.equal({ code: 1001, reason: 'server shutting down' });
  });

  it('resolves routes registered on it: 404 for none, 401 without a profile unless anonymous, the resolver’s HttpError', async () => {
    const kit = new HandlerTest<typeof echo>();
    kit.route('/private', (_req, url) => ({ channel: url.searchParams.get('ch') ?? 'p', handler }));
    kit.route('/open', (req, url) => {
      if (url.searchParams.has('no')) throw new HttpError(409, 'full');
      return { channel: 'o', profile: { id: String(req.headers['x-user']), name: 'From header' }, handler };
    }, { anonymous: true });
    expect(() => kit.route('/open', () => ({ channel: 'x', handler }))).to.throw(/already registered/);
    const status = (p: Promise<unknown>) => p.then(() => 200, (e: HttpError) => e.status);
    expect(await status(kit.connect({ url: '/nowhere' }))).to.equal(404);
    expect(await status(kit.connect({ url: '/private' }))).to.equal(401);
    expect(await status(kit.connect({ url: '/open?no' }))).to.equal(409);
    expect((await kit.connect({ url: '/private?ch=x', profile: ann })).channel).to.equal('x');
    expect((await kit.connect({ url: '/open', headers: { 'x-user': 'h1' } })).profile).to.deep.equal({ id: 'h1', name: 'From header' });
    await new HandlerTest().connect().then(
      () => expect.fail('no handler'),
      (e: Error) => expect(e.message).to.match(/no handler/),
    );
  });
});
