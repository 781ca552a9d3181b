import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { Socket } from '../../client/socket';
import { createApp, type WsforgeApp } from '../../server/app';
import { BaseCodec, baseCodecs, type BaseFrame } from '../../server/features/chat/base-codec';
import { basePageOf, type BasePage } from '../../server/features/chat/base-pages';
import type { ChatProtocol } from '../../server/features/chat/protocol';
import { FrameError, type Message } from '../../server/socket/message';
import type { ServerFrame } from '../../server/socket/protocol';
import { connectPaths, editorTemplate, everyFixture, send } from '../fixtures/base/pages';
import { closeAll, connect, eventually, refusedUpgrade, type TestClient } from '../helpers';

describe('Base codec (unit)', () => {
  const codec = new BaseCodec();
  const decode = (frame: unknown, def = 'chat:general') => codec.decode(typeof frame === 'string' ? frame : JSON.stringify(frame), def);
  const encodeWith = (c: BaseCodec, msg: Message) => {
    const text = c.encode(msg);
    return text === undefined ? undefined : (JSON.parse(text) as BaseFrame);
  };
  const encode = (msg: Message) => encodeWith(codec, msg);
  const fails = (frame: unknown, code: string) => {
    try {
      decode(frame);
    } catch (err) {
      expect(err).to.be.instanceOf(FrameError);
      expect((err as FrameError).code).to.equal(code);
      expect((err as FrameError).ref).to.equal(undefined);
      return;
    }
    expect.fail(`decoding ${JSON.stringify(frame)} should fail with ${code}`);
  };

  it('decodes every frame Base’s six pages send: chat.html’s `chat` as a chat message, the others as `base` frames', () => {
    for (const { page, action, frame } of everyFixture) {
      const decoded = decode(frame, 'chat:kanban');
      const what = `${page}: ${action}`;
      expect(decoded.channel, what).to.equal('chat:kanban'); // kanban.html names its room: 'kanban'
      if (frame.type === 'chat') expect(decoded, what).to.deep.equal({ channel: 'chat:kanban', cmd: 'say', param: { text: frame.content } });
      else expect(decoded, what).to.deep.equal({ channel: 'chat:kanban', cmd: 'base', param: { type: frame.type, content: frame.content } });
    }
    // Base's docs and wsforge's extensions.
    expect(decode({ type: 'message', content: 'hi', room: 'general', nickname: 'Mallory' })).to.deep.equal({ channel: 'chat:general', cmd: 'say', param: { text: 'hi' } });
    expect(decode({ type: 'message', content: 'hi' }, 'chat:tech')).to.deep.equal({ channel: 'chat:tech', cmd: 'say', param: { text: 'hi' } });
    expect(decode({ type: 'message', content: 'hi', room: 'other' }, 'chat:tech').channel).to.equal('chat:other');
    expect(decode({ type: 'typing' }).param).to.deep.equal({ typing: true });
    expect(decode({ type: 'typing', content: true }).param).to.deep.equal({ typing: true });
    for (const stop of [false, 'stop', 'stopped', 0, null]) expect(decode({ type: 'typing', content: stop }).param).to.deep.equal({ typing: false });
    expect(decode({ type: 'private', target: 'u2', content: 'psst' })).to.deep.include({ cmd: 'private', param: { to: 'u2', text: 'psst' } });
    expect(decode({ type: 'nickname', content: 'Ada' })).to.deep.include({ cmd: 'nick', param: { name: 'Ada' } });
    expect(decode({ type: 'create_room', content: 'new' })).to.deep.include({ cmd: 'create-room', param: { room: 'new' } });
  });

  it('never lets a frame choose its sender, reach a built-in cmd or leave the chat namespace', () => {
    const m = decode({ type: 'message', content: 'hi', nickname: 'System', userId: 'someone-else', id: 'x', channel: 'draw:lobby' });
    expect(m).to.deep.equal({ channel: 'chat:general', cmd: 'say', param: { text: 'hi' } });
    expect(decode({ type: 'message', content: 'x', room: '' }).channel).to.equal('chat:general');
    // Base's own types never become the service's built-ins (join, leave, presence, refresh).
    for (const type of ['join', 'leave', 'presence', 'refresh', 'auth']) expect(decode({ type, content: 'chat:secret' })).to.deep.include({ cmd: 'base', param: { type, content: 'chat:secret' } });
  });

  it('refuses what it cannot translate with FrameError codes', () => {
    fails('{not json', 'invalid_json');
    fails('[1,2]', 'invalid_frame');
    fails('"message"', 'invalid_frame');
    fails('null', 'invalid_frame');
    fails({ content: 'no type' }, 'invalid_frame');
    fails({ type: '' }, 'invalid_frame');
    fails({ type: 'x'.repeat(65) }, 'invalid_frame');
    fails({ type: 'has space' }, 'invalid_frame');
    fails({ type: '1st' }, 'invalid_frame');
    fails({ type: 42 }, 'invalid_frame');
    fails({ type: 'message', content: 'x', room: 'no spaces' }, 'invalid_frame');
    fails({ type: 'message', content: 'x', room: 7 }, 'invalid_frame');
  });

  it('encodes chat frames as Base frames (a generic Base client gets them all)', () => {
    const msg = { id: 'm1', userId: 'u1', name: 'Ada', text: 'hi', time: 5 };
    const frames: Array<[ServerFrame<ChatProtocol>, BaseFrame | undefined]> = [
      [{ channel: 'chat:general', cmd: 'message', param: msg }, { type: 'message', content: 'hi', room: 'general', nickname: 'Ada', userId: 'u1', id: 'm1', time: 5 }],
      [
        { channel: 'chat:general', cmd: 'system', param: { text: 'Ada joined the room', kind: 'join', userId: 'u1', time: 5 } },
        { type: 'system', content: 'Ada joined the room', room: 'general', nickname: 'System', kind: 'join', userId: 'u1', time: 5 },
      ],
      [
        { channel: 'chat:general', cmd: 'users', param: { users: [{ id: 'u1', name: 'Ada' }, { id: 'u2', name: 'Bob' }], count: 2 } },
        { type: 'users_update', content: ['Ada', 'Bob'], room: 'general', users: [{ id: 'u1', name: 'Ada' }, { id: 'u2', name: 'Bob' }] },
      ],
      // Above the list limit the chat sends the count alone: Base's list shows it as one line.
      [
        { channel: 'chat:general', cmd: 'users', param: { users: [], count: 350 } },
        { type: 'users_update', content: ['350 users'], room: 'general', users: [] },
      ],
      [
        { channel: 'chat:general', cmd: 'users', param: { users: [], count: 0 } },
        { type: 'users_update', content: [], room: 'general', users: [] },
      ],
      [
        { channel: 'chat:general', cmd: 'typing', param: { userId: 'u1', name: 'Ada', typing: true, ttlMs: 4000 } },
        { type: 'typing', content: true, room: 'general', nickname: 'Ada', userId: 'u1', ttlMs: 4000 },
      ],
      [
        { channel: 'chat', cmd: 'private', param: { id: 'p1', from: { id: 'u1', name: 'Ada' }, to: { id: 'u2', name: 'Bob' }, text: 'psst', time: 5 } },
        { type: 'private', content: 'psst', nickname: 'Ada', from: 'u1', target: 'u2', targetNickname: 'Bob', id: 'p1', time: 5 },
      ],
      [
        { channel: 'chat', cmd: 'rooms', param: { rooms: [{ name: 'general', users: 2 }] } },
        { type: 'rooms', rooms: ['general'], content: [{ name: 'general', users: 2 }] },
      ],
      [{ channel: 'chat', cmd: 'you', param: { id: 'u1', name: 'Ada' } }, { type: 'nickname', content: 'Ada', id: 'u1' }],
      [
        { channel: 'chat:drawing', cmd: 'base', param: { type: 'cursor_move', content: { toX: 1, toY: 2, color: '#000000', nickname: 'Ada' }, userId: 'u1', name: 'Ada' } },
        { type: 'cursor_move', content: { toX: 1, toY: 2, color: '#000000', nickname: 'Ada' }, room: 'drawing', nickname: 'Ada', userId: 'u1' },
      ],
      // Base's hub sends `content: null` when there is none (draw.html's clear).
      [{ channel: 'chat:drawing', cmd: 'base', param: { type: 'clear', name: 'Ada', userId: 'u1' } }, { type: 'clear', content: null, room: 'drawing', nickname: 'Ada', userId: 'u1' }],
      [{ channel: 'chat:kanban', cmd: 'base', param: { type: 'tasks_update', content: [] } }, { type: 'tasks_update', content: [], room: 'kanban' }],
      [{ channel: 'chat:general', cmd: 'error', param: { code: 'invalid_param', message: 'bad' } }, { type: 'error', content: 'bad', code: 'invalid_param' }],
      [{ channel: 'chat:general', cmd: 'close-connection', param: { reason: 'bye' } }, { type: 'system', content: 'bye', nickname: 'System' }],
      // Nothing for Base: replies (it sends no refs), presence-diff (chat sends system + users), other features.
      [{ channel: 'chat:general', cmd: 'reply', param: null }, undefined],
      [{ channel: 'chat:general', cmd: 'presence-diff', param: { joins: [{ userId: 'u1', name: 'Ada' }], leaves: [], count: 1 } }, undefined],
      [{ channel: 'chat:general', cmd: 'presence-diff', param: { joins: [], leaves: [], count: 500 } }, undefined],
    ];
    for (const [frame, expected] of frames) expect(encode(frame), frame.cmd).to.deep.equal(expected);
    expect(encode({ channel: 'draw:lobby', cmd: 'stroke', param: {} })).to.equal(undefined);
  });

  it('sends each of Base’s pages only what its code reads, in the shape it reads', () => {
    const base = (type: string, content?: unknown): Message => ({ channel: 'chat:r', cmd: 'base', param: { type, content, name: 'Ada', userId: 'u1' } });
    const chatFrame = (cmd: string, param: unknown): Message => ({ channel: 'chat:r', cmd, param });
    const samples: Record<string, Message> = {
      message: chatFrame('message', { id: 'm1', userId: 'u1', name: 'Ada', text: 'hi', time: 5 }),
      system: chatFrame('system', { text: 'Ada joined the room', kind: 'join', userId: 'u1', time: 5 }),
      users_update: chatFrame('users', { users: [{ id: 'u1', name: 'Ada' }] }),
      typing: chatFrame('typing', { userId: 'u1', name: 'Ada', typing: false, ttlMs: 4000 }),
      rooms: { channel: 'chat', cmd: 'rooms', param: { rooms: [{ name: 'general', users: 2 }] } },
      error: chatFrame('error', { code: 'invalid_param', message: 'bad' }),
      draw: base('draw', { fromX: 1, fromY: 2, toX: 3, toY: 4, color: '#000000', size: '5', nickname: 'Ada' }),
      clear: base('clear'),
      cursor_move: base('cursor_move', { toX: 3, toY: 4, color: '#000000', nickname: 'Ada' }),
      add_task: base('add_task', { id: 't1', title: '<b>x</b>', description: 'a & b', column: 'todo', assignee: 'Ada' }),
      task_moved: base('task_moved', { taskId: 't1', newColumn: 'done' }),
      tasks_update: base('tasks_update', [{ id: 't1', title: '<b>x</b>', description: '', column: 'todo', assignee: 'Ada' }]),
      code_update: base('code_update', 'let x = 1;'),
      editor_cursor: base('cursor_update', { cursor: 4, color: '#abc', nickname: 'Ada' }),
      sheet_cursor: base('cursor_update', { cellId: '1-1', color: '#abc', nickname: 'Ada' }),
      cell_update: base('cell_update', { id: '1-1', value: '5', row: 1, col: 1 }),
      full_update: base('full_update', []),
      system_metrics: base('system_metrics', { cpu: 1, memory: 2, disk: 3 }),
      selection_update: base('selection_update', { from: 1, to: 2 }),
      text_reaction: base('reaction', 'nice'),
      object_reaction: base('reaction', { emoji: '🎉' }),
    };
    const takes: Record<BasePage, string[]> = {
      chat: ['message', 'system', 'users_update', 'error', 'text_reaction'],
      draw: ['users_update', 'draw', 'clear', 'cursor_move'],
      kanban: ['users_update', 'add_task', 'task_moved', 'tasks_update'],
      editor: ['users_update', 'code_update', 'editor_cursor'],
      monitor: ['system_metrics'],
      sheet: ['users_update', 'sheet_cursor', 'cell_update', 'full_update'],
      generic: Object.keys(samples),
    };
    for (const page of Object.keys(takes) as BasePage[]) {
      const got = Object.entries(samples).filter(([, m]) => encodeWith(baseCodecs[page], m) !== undefined).map(([k]) => k);
      expect(got, page).to.have.members(takes[page]);
    }
    // kanban.html puts card text into innerHTML: it gets it as HTML text; other clients get it as it is.
    expect(encodeWith(baseCodecs.kanban, samples.add_task!)!.content).to.include({ title: '&lt;b&gt;x&lt;/b&gt;', description: 'a &amp; b' });
    expect((encodeWith(baseCodecs.kanban, samples.tasks_update!)!.content as Array<{ title: string }>)[0]!.title).to.equal('&lt;b&gt;x&lt;/b&gt;');
    expect(encodeWith(baseCodecs.generic, samples.add_task!)!.content).to.include({ title: '<b>x</b>' });
  });

  it('tells the pages apart by the id each one gives itself', () => {
    const url = (path: string) => new URL(path, 'ws://localhost');
    expect(basePageOf(url(connectPaths.chat()))).to.equal('chat');
    expect(basePageOf(url(connectPaths.draw()))).to.equal('draw');
    expect(basePageOf(url(connectPaths.kanban()))).to.equal('kanban');
    expect(basePageOf(url(connectPaths.editor()))).to.equal('editor');
    expect(basePageOf(url(connectPaths.monitor()))).to.equal('monitor');
    expect(basePageOf(url(connectPaths.sheet()))).to.equal('sheet');
    expect(basePageOf(url('/api/ws?id=user123&nickname=John&room=general'))).to.equal('generic'); // Base's docs
    expect(basePageOf(url('/ws?channel=general&token=x'))).to.equal('chat');
  });

  it('encodes the joiner state as the users_update Base expects first, with who it is and the rooms as extras', () => {
    const state: ServerFrame<ChatProtocol> = {
      channel: 'chat:general',
      cmd: 'state',
      param: {
        generation: 'g1',
        room: 'general',
        you: { id: 'u2', name: 'Bob' },
        users: [{ id: 'u1', name: 'Ada' }, { id: 'u2', name: 'Bob' }],
        userCount: 2,
        history: [{ id: 'm1', userId: 'u1', name: 'Ada', text: 'earlier', time: 1 }],
        rooms: [{ name: 'general', users: 2 }],
        typingTtlMs: 4000,
      },
    };
    // The history follows as `message` frames (base-relay.ts), which chat.html prints.
    expect(encode(state)).to.deep.equal({
      type: 'users_update',
      content: ['Ada', 'Bob'],
      room: 'general',
      users: state.param.users,
      you: { id: 'u2', name: 'Bob' },
      rooms: ['general'],
    });
  });
});

describe('Base compatibility: a Base client and a wsforge Socket in one room', () => {
  let forge: WsforgeApp;
  let port: number;
  let n = 0;
  let room: string;
  const sockets: Socket<ChatProtocol>[] = [];
  const ws = (p: string) => `ws://127.0.0.1:${port}${p}`;

  before(async () => {
    forge = createApp({ logLevel: 'silent' });
    forge.server.listen(0, '127.0.0.1');
    await once(forge.server, 'listening');
    port = (forge.server.address() as AddressInfo).port;
  });
  after(async () => forge?.close());
  beforeEach(() => (room = `base${++n}-${Date.now().toString(36)}`));
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await closeAll();
  });

  /** The typed browser client, in Node with ws's WebSocket, on the chat page's socket route. */
  function pageSocket(name: string) {
    const frames: Array<ServerFrame<ChatProtocol>> = [];
    const errors: string[] = [];
    const socket = new Socket<ChatProtocol>({
      url: ws(`/examples/chat/socket?room=${room}&name=${name}`),
      WebSocket,
      onMessage: (f) => frames.push(f),
      onError: (service, error) => errors.push(`${service}: ${error}`),
    });
    sockets.push(socket);
    const waitFor = <K extends ServerFrame<ChatProtocol>['cmd']>(cmd: K, pred: (p: Extract<ServerFrame<ChatProtocol>, { cmd: K }>['param']) => boolean = () => true) =>
      eventually(() => {
        const f = frames.find((x) => x.cmd === cmd && pred(x.param as never));
        if (!f) throw new Error(`no ${cmd} frame yet; got ${frames.map((x) => x.cmd).join(', ')}`);
        return f as Extract<ServerFrame<ChatProtocol>, { cmd: K }>;
      }, 3000);
    return { socket, frames, errors, waitFor };
  }

  /** A raw ws client speaking Base's JSON, as Base's pages do. */
  async function baseClient(path: string): Promise<TestClient & { base: (match: Partial<BaseFrame> | ((f: BaseFrame) => boolean)) => Promise<BaseFrame> }> {
    const c = await connect(ws(path));
    return Object.assign(c, {
      base: (match: Partial<BaseFrame> | ((f: BaseFrame) => boolean)) => c.waitFor(match as never, 3000) as unknown as Promise<BaseFrame>,
    });
  }

  it('chats both ways, with join notices, user lists and typing translated', async () => {
    const page = pageSocket('Alice');
    const pageState = await page.waitFor('state');
    const alice = pageState.param.you;

    const bob = await baseClient(`/api/ws?id=user123&nickname=Bob&room=${room}`);
    // Base's first frame: the user list, with wsforge's ids and the history as extras.
    const first = await bob.base({ type: 'users_update' });
    expect(first.room).to.equal(room);
    expect(first.content).to.deep.equal(['Alice', 'Bob']);
    expect(bob.frames[0]).to.include({ type: 'users_update' });
    await bob.base((f) => f.type === 'rooms' && Array.isArray(f.rooms) && (f.rooms as string[]).includes(room));
    const bobId = (first.you as { id: string }).id;

    const joined = await page.waitFor('system', (p) => p.kind === 'join');
    expect(joined.param.text).to.equal('Bob joined the room');
    await page.waitFor('users', (p) => p.users.length === 2);

    page.socket.send({ channel: '', cmd: 'say', param: { text: 'hi from the page' } });
    const got = await bob.base({ type: 'message' });
    expect(got).to.deep.include({ type: 'message', content: 'hi from the page', room, nickname: 'Alice', userId: alice.id });

    // Base sends its nickname in every frame: ignored, the server names the sender.
    bob.send({ type: 'message', content: 'hi from Base', room, nickname: 'Mallory' });
    const fromBase = await page.waitFor('message', (p) => p.text === 'hi from Base');
    expect(fromBase.param).to.include({ name: 'Bob', userId: bobId });
    expect(fromBase.channel).to.equal(`chat:${room}`);

    bob.send({ type: 'typing', content: true, room });
    const typing = await page.waitFor('typing');
    expect(typing.param).to.include({ name: 'Bob', typing: true, userId: bobId });

    page.socket.send({ channel: '', cmd: 'typing', param: { typing: true } });
    expect(await bob.base({ type: 'typing' })).to.include({ content: true, nickname: 'Alice', room });

    // A late joiner on the page gets what Base said in the history.
    const late = pageSocket('Late');
    const lateState = await late.waitFor('state');
    expect(lateState.param.history.map((m) => m.text)).to.deep.equal(['hi from the page', 'hi from Base']);

    bob.ws.close();
    const left = await page.waitFor('system', (p) => p.kind === 'leave');
    expect(left.param.text).to.equal('Bob left the room');
    expect(page.errors).to.deep.equal([]);
  });

  it('sends private messages both ways and relays Base’s draw, cursor and code frames (as its pages send them) to the room', async () => {
    const page = pageSocket('Alice');
    const alice = (await page.waitFor('state')).param.you;
    const bob = await baseClient(`/api/ws?nickname=Bob&room=${room}`);
    const bobId = ((await bob.base({ type: 'users_update' })).you as { id: string }).id;

    bob.send({ type: 'private', target: alice.id, content: 'just for you' });
    const pm = await page.waitFor('private');
    expect(pm.param).to.deep.include({ text: 'just for you', from: { id: bobId, name: 'Bob' }, to: { id: alice.id, name: 'Alice' } });
    expect(await bob.base({ type: 'private' })).to.include({ content: 'just for you', from: bobId, target: alice.id }); // echo

    await page.socket.request('', 'private', { to: bobId, text: 'back to you' });
    expect(await bob.base((f) => f.type === 'private' && f.content === 'back to you')).to.include({ nickname: 'Alice', from: alice.id, target: bobId });

    // draw.html's frames (test/fixtures/base), between two draw pages: relayed to both, the sender included.
    const carol = await baseClient(connectPaths.draw('Carol', room));
    const dave = await baseClient(connectPaths.draw('Dave', room));
    await dave.base((f) => f.type === 'users_update' && (f.content as string[]).includes('Carol'));
    const line = send.draw({ fromX: 100, fromY: 150, toX: 104, toY: 152 }, { color: '#ff0000', nickname: 'Carol' });
    carol.send(line.frame);
    for (const c of [dave, carol]) expect(await c.base({ type: 'draw' })).to.deep.include({ content: { ...(line.frame.content as object), nickname: 'Carol' }, nickname: 'Carol', room });
    carol.send(send.cursorMove(150, 200).frame);
    expect(await dave.base({ type: 'cursor_move' })).to.deep.include({ content: { toX: 150, toY: 200, color: '#000000', nickname: 'Carol' } });
    // editor.html's: the whole text as a string.
    const ed1 = await baseClient(connectPaths.editor('Eve', room));
    const ed2 = await baseClient(connectPaths.editor('Fay', room));
    await ed2.base((f) => f.type === 'users_update' && (f.content as string[]).includes('Eve'));
    ed1.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)').frame);
    expect(await ed2.base({ type: 'code_update' })).to.deep.include({ content: editorTemplate, nickname: 'Eve' });
    bob.send({ type: 'draw', content: { fromX: 'a' } });
    expect(await bob.base({ type: 'error' })).to.include({ code: 'invalid_param' });
  });

  it('a Base page drawing does not push the room’s chat messages out of the history chat pages resume from', async () => {
    const alice = await connect(ws(`/examples/chat/socket?room=${room}&name=Alice`));
    await alice.waitFor({ cmd: 'state' });
    alice.send({ channel: '', cmd: 'say', param: { text: 'before' } });
    const before = (await alice.waitFor((f) => f.cmd === 'message' && (f.param as { text: string }).text === 'before')) as unknown as { offset: string; epoch: string };
    expect(before.offset, 'chat messages carry positions').to.be.a('string');
    // More lines than WS_HISTORY_SIZE (100), all relayed to the room: Base frames are volatile.
    const carol = await baseClient(connectPaths.draw('Carol', room));
    await carol.base({ type: 'users_update' });
    for (let i = 0; i < 150; i++) carol.send(send.draw({ fromX: i, fromY: 10, toX: i + 1, toY: 10 }, { nickname: 'Carol' }).frame);
    await eventually(() => expect(carol.frames.filter((f) => (f as unknown as BaseFrame).type === 'draw')).to.have.length(150));
    alice.send({ channel: '', cmd: 'say', param: { text: 'after' } });
    await alice.waitFor((f) => f.cmd === 'message' && (f.param as { text: string }).text === 'after');
    // Alice's page comes back from where it was: it gets what it missed, not recovery-failed.
    const since = `${before.epoch}:${before.offset}:chat:${room}`;
    const back = await connect(ws(`/examples/chat/socket?room=${room}&name=Alice&wsf_since=${encodeURIComponent(since)}`));
    await back.waitFor((f) => f.cmd === 'message' && (f.param as { text: string }).text === 'after');
    expect(back.frames.map((f) => f.cmd)).to.not.include('recovery-failed');
    expect(back.frames.filter((f) => f.cmd === 'base')).to.deep.equal([]);
  });

  it('answers bad Base frames with Base error frames and stays open', async () => {
    const bob = await baseClient(`/api/ws?nickname=Bob&room=${room}`);
    await bob.base({ type: 'users_update' });
    bob.send('{oops');
    expect(await bob.base((f) => f.type === 'error' && f.code === 'invalid_json')).to.have.property('content').that.is.a('string');
    bob.send({ type: 'users_update', content: ['Nobody'] });
    await bob.base((f) => f.type === 'error' && f.code === 'forbidden');
    bob.send({ type: 'message', content: 'to a room I am not in', room: 'general' });
    await bob.base((f) => f.type === 'error' && f.code === 'not_member');
    bob.send({ type: 'message', content: '' });
    await bob.base((f) => f.type === 'error' && f.code === 'invalid_param');
    expect(bob.isOpen).to.equal(true);
  });

  it('speaks the same dialect on /ws?channel= (seed 001) and /api/ws?channel=, in the same rooms', async () => {
    const page = pageSocket('Alice');
    await page.waitFor('state');
    // (A ?token= is verified by the service's gate before the route runs: see docs/examples.md.)
    const viaWs = await baseClient(`/ws?channel=${room}`);
    const viaApi = await baseClient(`/api/ws?channel=${room}&nickname=Dee`);
    for (const c of [viaWs, viaApi]) await c.base({ type: 'users_update' });
    viaWs.send({ type: 'message', content: 'over /ws' });
    await page.waitFor('message', (p) => p.text === 'over /ws');
    expect(await viaApi.base({ type: 'message' })).to.include({ content: 'over /ws', room });
    await page.waitFor('users', (p) => p.users.length === 3);
  });

  it('never takes identity from ?id=: it is a display hint, and the user id is the server’s', async () => {
    const page = pageSocket('Alice');
    const alice = (await page.waitFor('state')).param.you;
    // A Base client claiming Alice's id gets its own id and cannot read her private messages.
    const mallory = await baseClient(`/api/ws?id=${encodeURIComponent(alice.id)}&room=${room}`);
    const first = await mallory.base({ type: 'users_update' });
    const you = first.you as { id: string; name: string };
    expect(you.id).to.match(/^base-/).and.not.equal(alice.id);
    expect(you.name).to.match(/^guest-/); // too long for a name: the server names it
    expect((first.users as Array<{ id: string }>).map((u) => u.id)).to.have.members([alice.id, you.id]);

    const other = await baseClient(`/api/ws?nickname=Eve&room=${room}`);
    const eveId = ((await other.base({ type: 'users_update' })).you as { id: string }).id;
    await page.socket.request('', 'private', { to: eveId, text: 'for Eve only' });
    await other.base({ type: 'private' });
    // Delivered in the same pass as Eve's copy if it were meant for Mallory; give it a moment anyway.
    await new Promise((r) => setTimeout(r, 50));
    expect(mallory.frames.filter((f) => (f as unknown as BaseFrame).type === 'private')).to.deep.equal([]);

    // Two Base clients with the same ?id= are two users, not one; a short id serves as the name.
    const one = await baseClient(`/api/ws?id=user123&room=${room}`);
    const two = await baseClient(`/api/ws?id=user123&room=${room}`);
    const [y1, y2] = await Promise.all([one, two].map(async (c) => (await c.base({ type: 'users_update' })).you as { id: string; name: string }));
    expect(y1!.name).to.equal('user123');
    expect(y2!.name).to.equal('user123');
    expect(y1!.id).not.to.equal(y2!.id);
  });

  it('refuses a bad room before upgrading and defaults to Base’s "general"', async () => {
    expect((await refusedUpgrade(ws('/api/ws?room=bad%20room'))).status).to.equal(400);
    expect((await refusedUpgrade(ws('/ws?channel=%3Cx%3E'))).status).to.equal(400);
    const c = await baseClient('/api/ws?nickname=Gen');
    expect(await c.base({ type: 'users_update' })).to.include({ room: 'general' });
  });
});

describe('examples index and Base paths', () => {
  let forge: WsforgeApp;
  let origin: string;
  before(async () => {
    forge = createApp({ logLevel: 'silent' });
    forge.server.listen(0, '127.0.0.1');
    await once(forge.server, 'listening');
    origin = `http://127.0.0.1:${(forge.server.address() as AddressInfo).port}`;
  });
  after(async () => forge?.close());

  const names = ['chat', 'draw', 'kanban', 'editor', 'monitor', 'spreadsheet'];

  it('lists the six examples with their pages and Base paths, and has an Examples nav entry', async () => {
    const res = await fetch(`${origin}/examples`);
    expect(res.status).to.equal(200);
    const page = await res.text();
    for (const name of names) {
      expect(page).to.include(`href="/examples/${name}"`);
      expect(page).to.include(`/static/${name}.html`);
    }
    expect(page).to.match(/<a href="\/examples" class="active">Examples<\/a>/);
  });

  it('redirects Base’s /static/<name>.html to the page (301, query kept) and /static/ to the index', async () => {
    for (const name of names) {
      const res = await fetch(`${origin}/static/${name}.html?room=tech&name=Ada`, { redirect: 'manual' });
      expect(res.status, name).to.equal(301);
      expect(res.headers.get('location')).to.equal(`/examples/${name}?room=tech&name=Ada`);
    }
    for (const path of ['/static', '/static/', '/static/index.html']) {
      const res = await fetch(`${origin}${path}`, { redirect: 'manual' });
      expect(res.status, path).to.equal(301);
      expect(res.headers.get('location')).to.equal('/examples');
    }
    expect((await fetch(`${origin}/static/other.html`, { redirect: 'manual' })).status).to.equal(404);
    const followed = await fetch(`${origin}/static/chat.html?room=tech`);
    expect(followed.url).to.equal(`${origin}/examples/chat?room=tech`);
    expect(await followed.text()).to.include('data-room="tech"');
  });
});
