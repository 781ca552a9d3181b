/**
 * The rooms of Base's non-chat pages (draw.html, kanban.html, editor.html, monitor.html,
 * spreadsheet.html): not chat rooms (never in the chat's room list, `rooms` frames or
 * ChatState.rooms(), nor counted toward MAX_ROOMS), but bounded on their own (MAX_BASE_ROOMS):
 * the next one is refused with HTTP 409 before the upgrade, and none of its state is made.
 */
import { expect } from 'chai';
import { MAX_BASE_ROOMS } from '../../server/features/chat/base-pages';
import { baseRooms, baseRoomsKey } from '../../server/features/chat/base-rooms';
import { baseKeys } from '../../server/features/chat/base-state';
import { DIRECTORY } from '../../server/features/chat/chat';
import { ChatState } from '../../server/features/chat/chat-state';
import { MemoryStore } from '../../server/store/memory-store';
import { closeAll, connect, eventually, refusedUpgrade, sleep, startApp, type TestApp } from '../helpers';
import { openBasePage } from './base-client';
import { ChatPage, connectPaths, DrawPage, KanbanPage, send } from '../fixtures/base/pages';

const names = (rooms: Array<{ name: string }>) => rooms.map((r) => r.name);
let n = 0;
const uniqueRoom = (what: string) => `${what}-${++n}-${Date.now().toString(36)}`;

describe('Base pages’ rooms in the store (BaseRooms)', () => {
  it('lists rooms up to max, recycles the oldest empty one with its state, reports full; a name also a chat room keeps its state', async () => {
    const store = new MemoryStore();
    const roomKeys = (room: string) => [baseKeys.tasks(room), baseKeys.cells(room)];
    const chat = new ChatState(store, { maxRooms: 3, roomKeys, keepKeys: (room) => rooms.has(room) });
    const rooms = baseRooms(store, { max: 2, now: () => 7, roomKeys, keepKeys: (room) => chat.rooms.has(room) });
    expect(await rooms.list()).to.deep.equal([]);
    expect(await rooms.open('a', () => false)).to.deep.equal({ created: true });
    expect(await rooms.open('a', () => false)).to.deep.equal({ created: false });
    expect(await rooms.open('b', () => false)).to.deep.equal({ created: true });
    await store.set(baseKeys.tasks('a'), [{ id: 't' }]);
    await store.set(baseKeys.tasks('b'), [{ id: 't' }]);
    expect(await rooms.open('c', (r) => r === 'a' || r === 'b')).to.deep.equal({ created: false, full: true });
    expect(await rooms.open('c', (r) => r === 'b')).to.deep.equal({ created: true });
    expect(await store.get(baseRoomsKey)).to.deep.equal([
      { name: 'b', created: 7 },
      { name: 'c', created: 7 },
    ]);
    expect(await store.get(baseKeys.tasks('a'))).to.equal(undefined);
    // 'b' is a chat room too: recycled from one list, its state stays for the other.
    await chat.rooms.open('b', () => false);
    expect(await rooms.open('d', () => false)).to.deep.equal({ created: true });
    expect(await store.get(baseKeys.tasks('b'))).to.have.length(1);
    await rooms.open('b', () => false); // a Base page room again: recycling the chat room keeps it
    await chat.rooms.open('x', () => false);
    expect(await chat.rooms.has('b')).to.equal(false);
    expect(await store.get(baseKeys.tasks('b'))).to.have.length(1);
  });
});

describe('Base pages’ rooms: not chat rooms, bounded on their own', function () {
  this.timeout(30_000);
  let t: TestApp;
  let store: MemoryStore;

  beforeEach(async () => {
    store = new MemoryStore();
    t = await startApp({ store });
  });
  afterEach(closeAll);

  it('draw.html’s and kanban.html’s rooms are not added to the chat directory, and still share their room', async () => {
    // The wsforge chat page and a generic Base client watch the room list.
    const watcher = await connect(t.url('/examples/chat/socket?room=general&name=Watcher'));
    await watcher.waitFor({ cmd: 'state' });
    const tool = await openBasePage(t.url('/api/ws?id=tool-watch&nickname=Tom'), new ChatPage());
    await tool.waitFor((f) => f.type === 'users_update');

    const drawRoom = uniqueRoom('drawing');
    const kanbanRoom = uniqueRoom('kanban');
    const d1 = await openBasePage(t.url(connectPaths.draw('Dee', drawRoom)), new DrawPage('Dee'));
    const d2 = await openBasePage(t.url(connectPaths.draw('Dan', drawRoom)), new DrawPage('Dan'));
    const k = await openBasePage(t.url(connectPaths.kanban('Kim', kanbanRoom)), new KanbanPage());
    // Two draw.html pages in one room still share it.
    await d1.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    d1.send(send.draw({ fromX: 1, fromY: 2, toX: 3, toY: 4 }));
    await d2.waitFor((f) => f.type === 'draw');
    k.send(send.requestTasks());
    await k.waitFor((f) => f.type === 'tasks_update');
    // Their opening poked the directory: the lists that went out (after LIST_INTERVAL_MS) name neither room.
    await sleep(400);
    const directory = [
      ...watcher.frames.filter((f) => f.cmd === 'rooms' && f.channel === DIRECTORY).map((f) => names(f.param.rooms)),
      ...tool.frames.filter((f) => f.type === 'rooms').map((f) => f.rooms as string[]),
    ];
    expect(directory).to.not.be.empty;
    for (const list of directory) expect(list).to.not.include.members([drawRoom]).and.not.include.members([kanbanRoom]);
    // A late chat joiner's state, and the chat's state in the store.
    const late = await connect(t.url('/examples/chat/socket?room=general&name=Late'));
    const state = await late.waitFor({ cmd: 'state' });
    expect(names(state.param.rooms)).to.not.include(drawRoom).and.not.include(kanbanRoom);
    const chatRooms = names(await new ChatState(store).rooms.list());
    expect(chatRooms).to.not.include(drawRoom).and.not.include(kanbanRoom);
    // They are Base page rooms instead.
    expect(names((await store.get<Array<{ name: string }>>(baseRoomsKey)) ?? [])).to.include.members([drawRoom, kanbanRoom]);
    for (const p of [d1, d2, k, tool]) expect(p.errors).to.deep.equal([]);
  });

  it('a Base chat page and the wsforge chat page still create and share chat rooms', async () => {
    const room = uniqueRoom('talk');
    const base = await openBasePage(t.url(`/api/ws?room=${room}`), new ChatPage());
    await base.waitFor((f) => f.type === 'users_update');
    expect(names(await new ChatState(store).rooms.list())).to.include(room);
    const page = await connect(t.url(`/examples/chat/socket?room=${room}&name=Pat`));
    const state = await page.waitFor({ cmd: 'state' });
    expect(state.param.users).to.have.length(2);
  });

  it(`refuses the Base page room after MAX_BASE_ROOMS (${MAX_BASE_ROOMS}) in use with HTTP 409, before any state of it is made`, async () => {
    const prefix = uniqueRoom('board');
    const pages = [];
    for (let i = 0; i < MAX_BASE_ROOMS; i++) {
      const path = i % 2 ? connectPaths.draw('Dee', `${prefix}-${i}`) : connectPaths.kanban('Kim', `${prefix}-${i}`);
      pages.push(await openBasePage(t.url(path), i % 2 ? new DrawPage('Dee') : new KanbanPage()));
    }
    const chatBefore = names(await new ChatState(store).rooms.list());
    const over = `${prefix}-over`;
    for (const path of [connectPaths.kanban('Kim', over), connectPaths.draw('Dee', over), connectPaths.sheet('Sue', over)]) {
      const refused = await refusedUpgrade(t.url(path));
      expect(refused.status).to.equal(409);
      expect(refused.body).to.match(new RegExp(`all ${MAX_BASE_ROOMS} Base page rooms are in use`));
    }
    expect(await store.get(baseKeys.tasks(over))).to.equal(undefined);
    expect(await store.get(baseKeys.cells(over))).to.equal(undefined);
    const listed = names((await store.get<Array<{ name: string }>>(baseRoomsKey)) ?? []);
    expect(listed).to.have.length(MAX_BASE_ROOMS).and.not.include(over);
    // The rooms in use still work, and a page may join one of them.
    const again = await openBasePage(t.url(connectPaths.kanban('Kay', `${prefix}-0`)), new KanbanPage());
    again.send(send.requestTasks());
    await again.waitFor((f) => f.type === 'tasks_update');
    // They never counted toward the chat's rooms: chat rooms can still be made.
    expect(names(await new ChatState(store).rooms.list())).to.deep.equal(chatBefore);
    const chat = await connect(t.url(`/examples/chat/socket?room=${over}&name=Pat`));
    await chat.waitFor({ cmd: 'state' });

    // Once a room is empty, the next Base page room recycles it (its state deleted).
    const emptied = `${prefix}-0`;
    pages[0]!.send(send.addTask({ title: 'gone', column: 'todo' }, 'Kim', emptied));
    await pages[0]!.waitFor((f) => f.type === 'add_task');
    expect(await store.get(baseKeys.tasks(emptied))).to.have.length(1);
    pages[0]!.c.close();
    again.c.close();
    const next = `${prefix}-next`;
    const newcomer = await eventually(() => openBasePage(t.url(connectPaths.kanban('Kim', next)), new KanbanPage()), 3000, 50);
    newcomer.send(send.requestTasks());
    await newcomer.waitFor((f) => f.type === 'tasks_update');
    expect(await store.get(baseKeys.tasks(emptied))).to.equal(undefined);
    expect(names((await store.get<Array<{ name: string }>>(baseRoomsKey)) ?? [])).to.include(next).and.not.include(emptied);
  });
});
