import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp, type WsforgeApp } from '../../server/app';
import {
  addRoom,
  checkNickname,
  DIRECTORY,
  HISTORY_SIZE,
  MESSAGE_BURST,
  RateLimiter,
  roomChannel,
  roomOf,
  touchNicknameIndex,
  TypingSet,
  typingText,
  withNicknames,
  type Room,
} from '../../server/features/chat/chat';
import { chatKeys, ChatState } from '../../server/features/chat/chat-state';
import { MemoryStore } from '../../server/store/memory-store';
import { closeAll, connect, refusedUpgrade, sleep, type Frame } from '../helpers';

describe('chat: rules (pure)', () => {
  it('maps rooms to their own channels and back, nothing else', () => {
    expect(roomChannel('general')).to.equal('chat:general');
    expect(roomOf('chat:general')).to.equal('general');
    expect(roomOf(DIRECTORY)).to.equal(undefined);
    expect(roomOf('general')).to.equal(undefined);
    expect(roomOf('chat:bad room')).to.equal(undefined);
    expect(roomOf('draw:general')).to.equal(undefined);
  });

  it('cleans nicknames and refuses empty, too long and reserved ones', () => {
    expect(checkNickname('  Ada \t Lovelace\u0000 ')).to.deep.equal({ name: 'Ada Lovelace' });
    expect(checkNickname('\u200b\u0007  ')).to.have.property('error').that.matches(/empty/);
    expect(checkNickname('x'.repeat(33))).to.have.property('error').that.matches(/at most 32/);
    expect(checkNickname('😀'.repeat(32))).to.deep.equal({ name: '😀'.repeat(32) });
    expect(checkNickname('System')).to.have.property('error').that.matches(/reserved/);
    expect(checkNickname(' ADMIN ')).to.have.property('error').that.matches(/reserved/);
  });

  it('adds rooms once, and at the limit recycles the oldest empty non-built-in room', () => {
    const rooms: Room[] = [
      { name: 'general', created: 1 },
      { name: 'busy', created: 2 },
      { name: 'old', created: 3 },
    ];
    const occupied = (r: string) => r === 'busy';
    const again = addRoom(rooms, 'busy', { max: 3, now: 9, occupied });
    expect(again).to.deep.equal({ rooms, created: false });
    const added = addRoom(rooms, 'new', { max: 4, now: 9, occupied });
    expect(added).to.deep.equal({ rooms: [...rooms, { name: 'new', created: 9 }], created: true });
    const recycled = addRoom(rooms, 'new', { max: 3, now: 9, occupied, builtin: ['general'] });
    expect(recycled).to.deep.equal({
      rooms: [rooms[0], rooms[1], { name: 'new', created: 9 }],
      created: true,
      evicted: 'old',
    });
    expect(addRoom(rooms, 'new', { max: 3, now: 9, occupied: () => true, builtin: ['general'] })).to.deep.equal({ full: true });
    expect(rooms).to.have.length(3); // never mutated
  });

  it('keeps the nickname index most-recently-set last and bounded', () => {
    expect(touchNicknameIndex([], 'a', 2)).to.deep.equal({ index: ['a'], evicted: [] });
    expect(touchNicknameIndex(['a', 'b'], 'a', 2)).to.deep.equal({ index: ['b', 'a'], evicted: [] });
    expect(touchNicknameIndex(['a', 'b'], 'c', 2)).to.deep.equal({ index: ['b', 'c'], evicted: ['a'] });
    expect(touchNicknameIndex(['a', 'b', 'c'], 'd', 1)).to.deep.equal({ index: ['d'], evicted: ['a', 'b', 'c'] });
  });

  it('overlays nicknames on display names', () => {
    const users = [
      { id: 'u1', name: 'guest-1' },
      { id: 'u2', name: 'Bob' },
    ];
    expect(withNicknames(users, new Map([['u1', 'Ada']]))).to.deep.equal([
      { id: 'u1', name: 'Ada' },
      { id: 'u2', name: 'Bob' },
    ]);
  });

  it('rate-limits with a token bucket: a burst, then one per refill interval', () => {
    const r = new RateLimiter(3, 100, 0);
    expect([r.take(0), r.take(0), r.take(0), r.take(0)]).to.deep.equal([true, true, true, false]);
    expect(r.take(50)).to.equal(false);
    expect(r.take(100)).to.equal(true);
    expect(r.take(100)).to.equal(false);
    expect([r.take(10_000), r.take(10_000), r.take(10_000), r.take(10_000)]).to.deep.equal([true, true, true, false]);
  });

  it('expires typing indicators after their ttl unless refreshed', () => {
    const t = new TypingSet();
    t.set('a', 'Ada', true, 0, 1000);
    t.set('b', 'Bob', true, 500, 1000);
    expect(t.names(900)).to.deep.equal(['Ada', 'Bob']);
    expect(t.nextExpiry()).to.equal(1000);
    expect(t.names(1000)).to.deep.equal(['Bob']);
    t.set('b', 'Bob', true, 1400, 1000); // refreshed
    expect(t.names(1600)).to.deep.equal(['Bob']);
    t.set('b', 'Bob', false, 1700, 1000);
    expect(t.names(1700)).to.deep.equal([]);
    expect(t.nextExpiry()).to.equal(undefined);
    expect(typingText([])).to.equal('');
    expect(typingText(['Ada'])).to.equal('Ada is typing…');
    expect(typingText(['Ada', 'Bob'])).to.equal('Ada and Bob are typing…');
    expect(typingText(['Ada', 'Bob', 'Cy'])).to.equal('3 people are typing…');
  });
});

describe('chat: state in the store', () => {
  let store: MemoryStore;
  beforeEach(() => (store = new MemoryStore()));

  it('starts with the built-in rooms and creates others under chat:rooms', async () => {
    const state = new ChatState(store, { now: () => 5 });
    expect((await state.rooms.list()).map((r) => r.name)).to.deep.equal(['general', 'random']);
    expect(await state.rooms.open('tech', () => false)).to.deep.equal({ created: true });
    expect(await state.rooms.open('tech', () => false)).to.deep.equal({ created: false });
    expect(await store.get(chatKeys.rooms)).to.deep.equal([
      { name: 'general', created: 5 },
      { name: 'random', created: 5 },
      { name: 'tech', created: 5 },
    ]);
    expect(await state.rooms.has('tech')).to.equal(true);
    expect(await state.rooms.has('nope')).to.equal(false);
  });

  it('recycles the oldest empty room at the limit, deleting its history, and reports full', async () => {
    const state = new ChatState(store, { maxRooms: 3 });
    await state.rooms.open('a', () => false);
    await state.record('a', { id: '1', userId: 'u', name: 'U', text: 'hi', time: 1 });
    expect(await state.rooms.open('b', () => false)).to.deep.equal({ created: true });
    expect((await state.rooms.list()).map((r) => r.name)).to.deep.equal(['general', 'random', 'b']);
    expect(await state.history('a')).to.deep.equal([]);
    expect(await state.rooms.open('c', (r) => r === 'b')).to.deep.equal({ created: false, full: true });
    expect((await state.rooms.list()).map((r) => r.name)).to.deep.equal(['general', 'random', 'b']);
  });

  it('keeps only the last historySize messages of a room, oldest first', async () => {
    const state = new ChatState(store, { historySize: 3 });
    for (let i = 1; i <= 5; i++) await state.record('r', { id: String(i), userId: 'u', name: 'U', text: `m${i}`, time: i });
    expect((await state.history('r')).map((m) => m.text)).to.deep.equal(['m3', 'm4', 'm5']);
    expect(await state.history('other')).to.deep.equal([]);
    expect(HISTORY_SIZE).to.be.a('number').greaterThan(0);
  });

  it('stores nicknames per user and forgets the least recently set past maxNicknames', async () => {
    const state = new ChatState(store, { maxNicknames: 2 });
    await state.setNickname('u1', 'Ada');
    await state.setNickname('u2', 'Bob');
    await state.setNickname('u1', 'Ada L.');
    await state.setNickname('u3', 'Cy');
    expect(await state.nickname('u1')).to.equal('Ada L.');
    expect(await state.nickname('u2')).to.equal(undefined);
    expect(await state.nicknames(['u1', 'u2', 'u3', 'u1'])).to.deep.equal(
      new Map([
        ['u1', 'Ada L.'],
        ['u3', 'Cy'],
      ]),
    );
    expect(await store.keys('chat:nick:')).to.have.members(['chat:nick:u1', 'chat:nick:u3']);
  });
});

/** A real app on an ephemeral port, not tracked by the helpers' closeAll (suites share it). */
async function listen(): Promise<{ forge: WsforgeApp; ws: (path: string) => string; http: (path: string) => string }> {
  const forge = createApp({ logLevel: 'silent' });
  forge.server.listen(0, '127.0.0.1');
  await once(forge.server, 'listening');
  const { port } = forge.server.address() as AddressInfo;
  return { forge, ws: (p) => `ws://127.0.0.1:${port}${p}`, http: (p) => `http://127.0.0.1:${port}${p}` };
}

/** The signed guest cookie a browser gets from the chat page: every connection carrying it is one user. */
async function guestCookie(http: (path: string) => string): Promise<string> {
  const res = await fetch(http('/examples/chat'));
  const cookie = res.headers.get('set-cookie');
  if (!cookie) throw new Error('no guest cookie');
  return cookie.split(';')[0]!;
}

describe('chat: socket route (ws clients)', () => {
  let forge: WsforgeApp;
  let ws: (path: string) => string;
  let http: (path: string) => string;
  let n = 0;
  /** A fresh room per test, so tests never see each other's history or users. */
  let room: string;

  before(async () => ({ forge, ws, http } = await listen()));
  after(async () => forge?.close());
  beforeEach(() => (room = `t${++n}-${Date.now().toString(36)}`));
  afterEach(closeAll);

  const open = async (name: string, opts: { room?: string; cookie?: string } = {}) => {
    const q = new URLSearchParams({ room: opts.room ?? room, name });
    const c = await connect(ws(`/examples/chat/socket?${q}`), opts.cookie ? { headers: { cookie: opts.cookie } } : {});
    const state = await c.waitFor({ cmd: 'state' });
    return { c, state: state.param as { you: { id: string; name: string }; users: Array<{ id: string; name: string }>; history: Frame[]; rooms: Array<{ name: string; users: number }>; room: string } };
  };

  it('gives a joiner the state, tells the room, and delivers messages to everyone', async () => {
    const a = await open('Alice');
    expect(a.state.room).to.equal(room);
    expect(a.state.you.name).to.equal('Alice');
    expect(a.state.users).to.deep.equal([a.state.you]);
    expect(a.state.history).to.deep.equal([]);
    expect(a.state.rooms.find((r) => r.name === room)).to.deep.equal({ name: room, users: 1 });

    const b = await open('Bob');
    expect(b.state.users.map((u) => u.name)).to.deep.equal(['Alice', 'Bob']);
    const joined = await a.c.waitFor({ cmd: 'system' });
    expect(joined.channel).to.equal(roomChannel(room));
    expect(joined.param).to.include({ kind: 'join', userId: b.state.you.id, text: 'Bob joined the room' });
    await a.c.waitFor((f) => f.cmd === 'users' && f.param.users.length === 2);
    await a.c.waitFor((f) => f.cmd === 'rooms' && f.channel === DIRECTORY && f.param.rooms.some((r: { name: string; users: number }) => r.name === room && r.users === 2));

    const reply = await a.c.request('', 'say', { text: '  hello <b>room</b>  ' });
    expect(reply.cmd).to.equal('reply');
    for (const c of [a.c, b.c]) {
      const m = await c.waitFor({ cmd: 'message' });
      expect(m.channel).to.equal(roomChannel(room));
      expect(m.param).to.include({ userId: a.state.you.id, name: 'Alice', text: 'hello <b>room</b>' });
    }
  });

  it('keeps positions (the resume history) for the conversation: user lists, room lists and typing are volatile', async () => {
    const a = await open('Alice');
    const b = await open('Bob');
    const users = await a.c.waitFor((f) => f.cmd === 'users' && f.param.users.length === 2);
    const rooms = await a.c.waitFor((f) => f.cmd === 'rooms' && f.param.rooms.some((r: { name: string; users: number }) => r.name === room && r.users === 2));
    b.c.send({ channel: '', cmd: 'typing', param: { typing: true } });
    const typing = await a.c.waitFor({ cmd: 'typing' });
    await a.c.request('', 'say', { text: 'kept' });
    const said = await b.c.waitFor({ cmd: 'message' });
    const joined = await a.c.waitFor({ cmd: 'system' });
    const position = (f: Frame) => (f as unknown as { offset?: string }).offset;
    expect([users, rooms, typing].map(position)).to.deep.equal([undefined, undefined, undefined]);
    expect(position(said), 'a message').to.be.a('string');
    expect(position(joined), 'a join notice, a line of the conversation').to.be.a('string');
  });

  it('above WS_PRESENCE_LIST_MAX sends the room\'s user count alone, in the state and the lists', async () => {
    const big = createApp({ logLevel: 'silent', socket: { presenceListMax: 2 } });
    big.server.listen(0, '127.0.0.1');
    await once(big.server, 'listening');
    try {
      const url = (name: string) => `ws://127.0.0.1:${(big.server.address() as AddressInfo).port}/examples/chat/socket?${new URLSearchParams({ room, name })}`;
      const a = await connect(url('Alice'));
      await a.waitFor({ cmd: 'state' });
      const b = await connect(url('Bob'));
      await b.waitFor({ cmd: 'state' });
      const two = await a.waitFor((f) => f.cmd === 'users' && f.param.count === 2);
      expect(two.param.users.map((u: { name: string }) => u.name)).to.deep.equal(['Alice', 'Bob']);
      const c = await connect(url('Cid'));
      const state = await c.waitFor({ cmd: 'state' });
      expect(state.param).to.deep.include({ users: [], userCount: 3 });
      expect((await a.waitFor((f) => f.cmd === 'users' && f.param.count === 3)).param.users).to.deep.equal([]);
      await c.close();
      const back = await a.waitFor((f) => f.cmd === 'users' && f.param.count === 2 && f.param.users.length === 2);
      expect(back.param.users.map((u: { name: string }) => u.name)).to.deep.equal(['Alice', 'Bob']);
    } finally {
      await big.close();
    }
  });

  it('gives a late joiner the room history (last HISTORY_SIZE) and nothing of other rooms', async () => {
    const a = await open('Alice');
    await a.c.request('', 'say', { text: 'first' });
    await a.c.request('', 'say', { text: 'second' });
    const other = await open('Olga', { room: `${room}-other` });
    await other.c.request('', 'say', { text: 'elsewhere' });
    const late = await open('Late');
    expect(late.state.history.map((m: any) => m.text)).to.deep.equal(['first', 'second']);
    expect(late.state.history[0]).to.include({ userId: a.state.you.id, name: 'Alice' });
  });

  it('lists a user once however many tabs, and announces only the first join and the last leave', async () => {
    const cookie = await guestCookie(http);
    const watcher = await open('Watcher');
    const tab1 = await open('Ada', { cookie });
    await watcher.c.waitFor((f) => f.cmd === 'system' && f.param.kind === 'join');
    const tab2 = await open('Ada', { cookie });
    expect(tab2.state.you.id).to.equal(tab1.state.you.id);
    expect(tab2.state.users.map((u) => u.name)).to.deep.equal(['Watcher', 'Ada']);
    await watcher.c.sync();
    expect(watcher.c.frames.filter((f) => f.cmd === 'system')).to.have.length(1);

    await tab1.c.close();
    await sleep(50);
    await watcher.c.sync();
    expect(watcher.c.frames.filter((f) => f.cmd === 'system' && f.param.kind === 'leave')).to.have.length(0);

    await tab2.c.close();
    const left = await watcher.c.waitFor((f) => f.cmd === 'system' && f.param.kind === 'leave');
    expect(left.param).to.include({ userId: tab1.state.you.id, text: 'Ada left the room' });
    const users = await watcher.c.waitFor((f) => f.cmd === 'users' && f.param.users.length === 1);
    expect(users.param.users[0].name).to.equal('Watcher');
  });

  it('relays typing to the others (not the sender), drops refreshes closer than the minimum interval', async () => {
    const a = await open('Alice');
    const b = await open('Bob');
    a.c.send({ channel: '', cmd: 'typing', param: { typing: true } });
    a.c.send({ channel: '', cmd: 'typing', param: { typing: true } }); // within TYPING_MIN_INTERVAL_MS: dropped
    a.c.send({ channel: '', cmd: 'typing', param: { typing: false } });
    const t = await b.c.waitFor({ cmd: 'typing' });
    expect(t.param).to.include({ userId: a.state.you.id, name: 'Alice', typing: true });
    expect(t.param.ttlMs).to.be.greaterThan(0);
    await b.c.waitFor((f) => f.cmd === 'typing' && f.param.typing === false);
    await a.c.sync();
    await b.c.sync();
    expect(b.c.frames.filter((f) => f.cmd === 'typing').map((f) => f.param.typing)).to.deep.equal([true, false]);
    expect(a.c.frames.filter((f) => f.cmd === 'typing')).to.deep.equal([]);
  });

  it('sends private messages to the target user and echoes them to the sender; refuses self and strangers', async () => {
    const a = await open('Alice');
    const b = await open('Bob', { room: `${room}-b` }); // another room: private messages reach any chat user
    const c = await open('Carol');
    const reply = await a.c.request('', 'private', { to: b.state.you.id, text: 'psst' });
    expect(reply.cmd).to.equal('reply');
    for (const x of [a.c, b.c]) {
      const p = await x.waitFor({ cmd: 'private' });
      expect(p.channel).to.equal(DIRECTORY);
      expect(p.param).to.deep.include({ id: reply.param.id, text: 'psst', from: { id: a.state.you.id, name: 'Alice' }, to: { id: b.state.you.id, name: 'Bob' } });
    }
    await c.c.sync();
    expect(c.c.frames.filter((f) => f.cmd === 'private')).to.deep.equal([]);

    const self = await a.c.request('', 'private', { to: a.state.you.id, text: 'me' });
    expect(self.param).to.include({ code: 'invalid_target' });
    const stranger = await a.c.request('', 'private', { to: 'no-such-user', text: 'hello?' });
    expect(stranger.param).to.include({ code: 'unknown_user' });
  });

  it('renames: validated on the server, shown in the room, used for later messages and kept for the user', async () => {
    const cookie = await guestCookie(http);
    const a = await open('Alice', { cookie });
    const b = await open('Bob');
    const bad = await a.c.request('', 'nick', { name: 'system' });
    expect(bad.param).to.include({ code: 'invalid_param' });
    const empty = await a.c.request('', 'nick', { name: ' \u0000 ' });
    expect(empty.param).to.include({ code: 'invalid_param' });

    const ok = await a.c.request('', 'nick', { name: '  Alicia  ' });
    expect(ok.param).to.deep.equal({ name: 'Alicia' });
    const note = await b.c.waitFor((f) => f.cmd === 'system' && f.param.kind === 'nick');
    expect(note.param.text).to.equal('Alice is now known as Alicia');
    await b.c.waitFor((f) => f.cmd === 'users' && f.param.users.some((u: { name: string }) => u.name === 'Alicia'));
    await a.c.waitFor({ cmd: 'you', param: { id: a.state.you.id, name: 'Alicia' } });
    await a.c.request('', 'say', { text: 'renamed' });
    expect((await b.c.waitFor({ cmd: 'message' })).param.name).to.equal('Alicia');

    // The nickname belongs to the user: a new tab with another ?name= still shows it.
    const again = await open('Whatever', { cookie });
    expect(again.state.you).to.deep.equal({ id: a.state.you.id, name: 'Alicia' });
  });

  it('creates rooms for everyone, once; refuses bad names', async () => {
    const a = await open('Alice');
    const b = await open('Bob', { room: 'general' });
    const name = `${room}-new`;
    const created = await a.c.request('', 'create-room', { room: name });
    expect(created.param).to.deep.equal({ room: name, created: true });
    await b.c.waitFor((f) => f.cmd === 'rooms' && f.param.rooms.some((r: { name: string }) => r.name === name));
    expect((await a.c.request('', 'create-room', { room: name })).param).to.deep.equal({ room: name, created: false });
    expect((await a.c.request('', 'create-room', { room: 'no spaces' })).param).to.include({ code: 'invalid_param' });
  });

  it('validates and bounds input: empty or oversized text, other channels, bursts', async () => {
    const a = await open('Alice');
    expect((await a.c.request('', 'say', { text: '   ' })).param).to.include({ code: 'invalid_param' });
    expect((await a.c.request('', 'say', { text: 'x'.repeat(2001) })).param).to.include({ code: 'invalid_param' });
    expect((await a.c.request(DIRECTORY, 'say', { text: 'to the directory?' })).param).to.include({ code: 'forbidden' });
    expect((await a.c.request('chat:elsewhere', 'say', { text: 'not joined' })).param).to.include({ code: 'not_member' });
    const answers = await Promise.all(Array.from({ length: MESSAGE_BURST + 1 }, (_, i) => a.c.request('', 'say', { text: `m${i}` })));
    expect(answers.slice(0, MESSAGE_BURST).every((f) => f.cmd === 'reply')).to.equal(true);
    expect(answers[MESSAGE_BURST]!.param).to.include({ code: 'rate_limited' });
  });

  it('refuses a bad ?room= before upgrading', async () => {
    const r = await refusedUpgrade(ws('/examples/chat/socket?room=no%20spaces'));
    expect(r.status).to.equal(400);
  });

  it('GET /examples/chat renders the room, escapes ?name= and falls back for a bad room', async () => {
    const page = await (await fetch(http('/examples/chat?room=tech&name=%3Cb%3EAda'))).text();
    expect(page).to.include('data-room="tech"');
    expect(page).to.include('data-name="&lt;b&gt;Ada"');
    expect(page).not.to.include('<b>Ada');
    expect(page).to.include('/js/pages/chat.js');
    const fallback = await (await fetch(http('/examples/chat?room=%3Cscript%3E'))).text();
    expect(fallback).to.include('data-room="general"');
  });

  it('with WS_ENABLED=false serves the page with a notice and registers no chat or Base socket route', async () => {
    const off = createApp({ logLevel: 'silent', wsEnabled: false });
    off.server.listen(0, '127.0.0.1');
    await once(off.server, 'listening');
    try {
      const base = `http://127.0.0.1:${(off.server.address() as AddressInfo).port}`;
      const page = await (await fetch(`${base}/examples/chat`)).text();
      expect(page).to.include('WebSockets are disabled');
      expect(page).not.to.include('/js/pages/chat.js');
      expect(off.sockets).to.equal(undefined);
      expect((await refusedUpgrade(`ws://127.0.0.1:${(off.server.address() as AddressInfo).port}/api/ws`)).status).to.equal(404);
    } finally {
      await off.close();
    }
  });
});

