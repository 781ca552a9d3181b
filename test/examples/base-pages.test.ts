/**
 * Base Framework's six pages against wsforge's /api/ws, in Node: each client connects with the
 * URL its page uses, sends the frames its page sends (test/fixtures/base/pages.ts, from
 * base-go/base-core) and feeds what it gets to a model of its page's `onmessage`, which throws
 * where the page's code would. Two clients and a late joiner per page; the echo to the sender;
 * no spoofing; unknown types relayed within bounds; each joiner's state in its page's own frames;
 * the whiteboard and editor bridges.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import * as Y from 'yjs';
import { baseLimits } from '../../server/features/chat/base-pages';
import { BASE_SCALE } from '../../server/features/draw/base-bridge';
import { fromBase64, stateOf, textOf, toBase64, type StoredDoc } from '../../server/features/editor/document';
import { docKey } from '../../server/features/editor/handler';
import { closeAll, connect, eventually, sleep, startApp, type TestApp } from '../helpers';
import { openBasePage, type PageClient } from './base-client';
import {
  ChatPage,
  connectPaths,
  DrawPage,
  EditorPage,
  editorTemplate,
  KanbanPage,
  MonitorPage,
  send,
  SheetPage,
  type PageModel,
} from '../fixtures/base/pages';

let n = 0;
const uniqueRoom = (what: string) => `${what}-${++n}-${Date.now().toString(36)}`;

describe('Base pages over /api/ws (their real frames)', function () {
  this.timeout(20_000);
  let t: TestApp;

  before(async () => {
    t = await startApp({ monitor: { intervalMs: 100 } });
  });
  after(closeAll);

  const open = <M extends PageModel>(path: string, page: M): Promise<PageClient<M>> => openBasePage(t.url(path), page);

  /** Gives frames that should not come a moment to arrive; the clients are still open. */
  async function settle(...clients: Array<PageClient<PageModel>>): Promise<void> {
    await sleep(60);
    for (const p of clients) expect(p.c.isOpen).to.equal(true);
  }

  describe('chat.html', () => {
    it('two pages chat, each sees its own message come back, and a late joiner gets the room’s last messages', async () => {
      const a = await open(connectPaths.chat(), new ChatPage());
      const b = await open(connectPaths.chat(), new ChatPage());
      await a.waitFor((f) => f.type === 'users_update');
      await b.waitFor((f) => f.type === 'users_update');
      const text = `hello ${uniqueRoom('chat')}`;
      a.send(send.chat(text));
      await a.waitFor((f) => f.type === 'message' && f.content === text); // the echo
      const got = await b.waitFor((f) => f.type === 'message' && f.content === text);
      expect(got).to.include({ room: 'general' });
      expect(b.page.lines).to.include(`Received: ${text}`);

      const late = await open(connectPaths.chat(), new ChatPage());
      await late.waitFor((f) => f.type === 'message' && f.content === text);
      expect(late.page.lines[0]).to.match(/^Received: /); // users_update first (names), then history
      expect(late.page.lines).to.include(`Received: ${text}`);
      for (const p of [a, b, late]) expect(p.errors).to.deep.equal([]);
    });

    it('never gets frames it would print as garbage: no typing, room lists, other pages’ objects or presence-diff', async () => {
      const room = uniqueRoom('garbage');
      const chatPage = await open(`/api/ws?room=${room}`, new ChatPage());
      await chatPage.waitFor((f) => f.type === 'users_update');
      // The wsforge chat page types in the same room; a Base draw page draws in it; a generic client relays objects.
      const page = await connect(t.url(`/examples/chat/socket?room=${room}&name=Alice`));
      await page.waitFor({ cmd: 'state' });
      const generic = await open(`/api/ws?id=tool-1&room=${room}`, new ChatPage());
      await generic.waitFor((f) => f.type === 'users_update');
      page.send({ channel: '', cmd: 'typing', param: { typing: true } });
      page.send({ channel: '', cmd: 'typing', param: { typing: false } });
      const drawer = await open(connectPaths.draw('Bob', room), new DrawPage('Bob'));
      drawer.send(send.draw({ fromX: 1, fromY: 1, toX: 2, toY: 2 }));
      drawer.send(send.cursorMove(2, 2));
      generic.send({ type: 'reaction', content: { emoji: '👍' } });
      generic.send({ type: 'note', content: 'a text note' });
      page.send({ channel: '', cmd: 'say', param: { text: 'done' } });
      await chatPage.waitFor((f) => f.content === 'done');
      await generic.waitFor((f) => f.type === 'typing' && f.content === false); // the generic client gets everything, typing included
      const types = new Set(chatPage.frames.map((f) => f.type));
      for (const never of ['typing', 'rooms', 'draw', 'cursor_move', 'reaction', 'presence-diff']) expect(types, never).not.to.include(never);
      expect(chatPage.frames.some((f) => f.type === 'note' && f.content === 'a text note')).to.equal(true); // text of an unknown type prints fine
      for (const line of chatPage.page.lines) expect(line).not.to.match(/Received: (true|false|null|undefined|\[object Object\])/);
      expect(chatPage.errors).to.deep.equal([]);
    });

    it('takes the sender’s name from the server, never from the frame', async () => {
      const room = uniqueRoom('spoof');
      const eve = await open(`/api/ws?id=tool-eve&nickname=Eve&room=${room}`, new ChatPage());
      const other = await open(`/api/ws?id=tool-other&room=${room}`, new ChatPage());
      await other.waitFor((f) => f.type === 'users_update');
      eve.send({ type: 'message', content: 'trust me', room, nickname: 'System', userId: 'admin' });
      eve.send({ type: 'note', content: { text: 'x', nickname: 'Admin' }, nickname: 'Admin' });
      const m = await other.waitFor((f) => f.type === 'message' && f.content === 'trust me');
      expect(m.nickname).to.equal('Eve');
      expect(m.userId).to.match(/^base-/);
      const note = await other.waitFor((f) => f.type === 'note');
      expect(note).to.deep.include({ nickname: 'Eve', content: { text: 'x', nickname: 'Eve' } });
    });
  });

  describe('draw.html', () => {
    const stroke = [
      { fromX: 100, fromY: 100, toX: 110, toY: 104 },
      { fromX: 110, fromY: 104, toX: 121, toY: 110 },
      { fromX: 121, fromY: 110, toX: 130, toY: 118 },
    ];

    it('two pages see each other’s lines and labelled cursors, the sender its own echo; a late joiner gets the canvas; clear clears for all', async () => {
      const room = uniqueRoom('drawing');
      const alice = await open(connectPaths.draw('Alice', room), new DrawPage('Alice'));
      const bob = await open(connectPaths.draw('Bob', room), new DrawPage('Bob'));
      await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
      expect(bob.page.users).to.have.members(['Alice', 'Bob']);

      alice.send(send.cursorMove(100, 100, { color: '#ff0000', nickname: 'Alice' }));
      for (const line of stroke) alice.send(send.draw(line, { color: '#ff0000', size: '8', nickname: 'Alice' }));
      await eventually(() => expect(bob.page.lines).to.have.length(3));
      expect(bob.page.lines[0]).to.deep.equal({ ...stroke[0], color: '#ff0000', size: '8' }); // size stays the string the page sent
      expect(bob.page.cursors.get('Alice')).to.include({ x: 130, y: 118 });
      await eventually(() => expect(alice.page.lines).to.have.length(3)); // Base's hub echoes to the sender; so does wsforge
      expect(alice.page.cursors.size).to.equal(0); // its own cursor: draw.html skips its own nickname

      const late = await open(connectPaths.draw('Carol', room), new DrawPage('Carol'));
      await eventually(() => expect(late.page.lines).to.have.length(3));
      late.page.lines.forEach((l, i) => {
        for (const k of ['fromX', 'fromY', 'toX', 'toY'] as const) expect(Math.abs(l[k] - stroke[i]![k]), `${i}.${k}`).to.be.at.most(0.31);
        expect(l.color).to.equal('#ff0000');
        expect(Number(l.size)).to.be.closeTo(8, 0.4);
      });
      expect(late.page.cursors.size).to.equal(0); // a replay is ink, not people: no cursor labels

      bob.send(send.clear());
      await eventually(() => expect([alice.page.clears, bob.page.clears, late.page.clears]).to.deep.equal([1, 1, 1]));
      const afterClear = await open(connectPaths.draw('Dan', room), new DrawPage('Dan'));
      await afterClear.waitFor((f) => f.type === 'users_update');
      await settle(afterClear);
      expect(afterClear.page.lines).to.deep.equal([]);
      for (const p of [alice, bob, late, afterClear]) expect(p.errors).to.deep.equal([]);
    });

    it('bounds a pointer’s cursor_move frames, but the last one always arrives (draw.html sends no final one)', async () => {
      const room = uniqueRoom('drawing');
      const alice = await open(connectPaths.draw('Alice', room), new DrawPage('Alice'));
      const bob = await open(connectPaths.draw('Bob', room), new DrawPage('Bob'));
      await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
      // A quick pointer: one cursor_move per mousemove, far faster than 25 a second.
      for (let x = 1; x <= 30; x++) alice.send(send.cursorMove(x * 10, 300, { nickname: 'Alice' }));
      await eventually(() => expect(bob.page.cursors.get('Alice')).to.include({ x: 300, y: 300 }));
      await settle(bob);
      const relayed = bob.frames.filter((f) => f.type === 'cursor_move').map((f) => f.content.toX);
      expect(relayed[0]).to.equal(10);
      expect(relayed.at(-1)).to.equal(300);
      expect(relayed.length).to.be.below(8); // 30 sent within a few ms: the first at once, the newest after each 40 ms
      expect(alice.errors.concat(bob.errors)).to.deep.equal([]);
    });

    it('labels lines and cursors with the server’s name, whatever `nickname` the frame carries', async () => {
      const room = uniqueRoom('drawing');
      const mallory = await open(connectPaths.draw('Mallory', room), new DrawPage('Mallory'));
      const bob = await open(connectPaths.draw('Bob', room), new DrawPage('Bob'));
      await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
      mallory.send(send.draw(stroke[0]!, { nickname: 'Bob' }));
      mallory.send(send.cursorMove(5, 6, { nickname: 'Alice' }));
      const line = await bob.waitFor((f) => f.type === 'draw');
      expect(line.nickname).to.equal('Mallory');
      expect(line.content.nickname).to.equal('Mallory');
      await eventually(() => expect(bob.page.cursors.get('Mallory')).to.include({ x: 5, y: 6 }));
      expect(bob.page.cursors.has('Alice')).to.equal(false);
    });

    it('shares one canvas with the whiteboard example: Base lines become its strokes, its strokes and clears reach Base pages', async () => {
      const room = uniqueRoom('board');
      const base = await open(connectPaths.draw('Alice', room), new DrawPage('Alice'));
      const board = await connect(t.url(`/examples/draw/socket?room=${room}&name=Bob`));
      const boardName = (await board.request('', 'sync')).param.me.name as string;
      await base.waitFor((f) => f.type === 'users_update');
      for (const line of stroke) base.send(send.draw(line, { color: '#00aa00', size: '6' }));
      // Live on the whiteboard as one stroke, in its canvas space (5/3 of Base's pixels)…
      await eventually(() => expect(board.frames.filter((f) => f.cmd === 'segment')).to.have.length(3));
      const segments = board.frames.filter((f) => f.cmd === 'segment');
      expect(new Set(segments.map((s) => s.param.key)).size).to.equal(1);
      expect(segments[0]!.param).to.deep.include({ name: 'Alice', color: '#00aa00', size: 10, from: 0, points: [167, 167, 183, 173] });
      // …committed once Alice stops drawing.
      const commit = await board.waitFor({ cmd: 'commit' }, baseLimits.strokeIdleMs + 2000);
      expect(commit.param.entry.paths[0]).to.deep.equal([167, 167, 183, 173, 202, 183, 217, 197]);
      const synced = await board.request('', 'sync');
      expect(synced.param.entries).to.have.length(1);

      // The whiteboard's stroke reaches the Base page as draw lines, in Base's pixels.
      board.send({ channel: '', cmd: 'segment', param: { id: 's1', color: '#0000ff', size: 10, points: [500, 500, 600, 500, 700, 520], end: true } });
      await eventually(() => expect(base.page.lines.filter((l) => l.color === '#0000ff')).to.have.length(2));
      const blue = base.page.lines.filter((l) => l.color === '#0000ff');
      expect(blue[0]).to.deep.equal({ fromX: 300, fromY: 300, toX: 360, toY: 300, color: '#0000ff', size: '6' }); // 500 / BASE_SCALE…
      expect(BASE_SCALE).to.equal(5 / 3);
      expect(base.page.cursors.get(boardName)).to.include({ x: 420, y: 312 }); // the end of the page user's ink, labelled with their name

      // A late Base page gets both strokes.
      const late = await open(connectPaths.draw('Carol', room), new DrawPage('Carol'));
      await eventually(() => expect(late.page.lines).to.have.length(5));

      board.send({ channel: '', cmd: 'clear', param: {} });
      await eventually(() => expect([base.page.clears, late.page.clears]).to.deep.equal([1, 1]));
      base.send(send.clear());
      await board.waitFor((f) => f.cmd === 'clear' && f.param.by === 'Alice');
      for (const p of [base, late]) expect(p.errors).to.deep.equal([]);
    });

    it('commits a Base drawer’s stroke when it goes', async () => {
      const room = uniqueRoom('board');
      const base = await open(connectPaths.draw('Alice', room), new DrawPage('Alice'));
      const board = await connect(t.url(`/examples/draw/socket?room=${room}&name=Bob`));
      await board.request('', 'sync');
      base.send(send.draw(stroke[0]!));
      await board.waitFor({ cmd: 'segment' });
      await base.c.close();
      await board.waitFor({ cmd: 'commit' }, 500);
    });
  });

  describe('kanban.html', () => {
    it('two boards and a late joiner: cards added from the echo, moves as task_moved, deletes; the assignee is the server’s', async () => {
      const room = uniqueRoom('kanban');
      const alice = await open(connectPaths.kanban('Alice', room), new KanbanPage());
      const bob = await open(connectPaths.kanban('Bob', room), new KanbanPage());
      for (const p of [alice, bob]) p.send(send.requestTasks());
      await alice.waitFor((f) => f.type === 'tasks_update');
      await bob.waitFor((f) => f.type === 'tasks_update');
      expect(alice.page.ids()).to.deep.equal({ todo: [], 'in-progress': [], done: [] });

      const first = send.addTask({ id: 'task_1', title: 'Write tests', description: 'with real frames', column: 'todo' }, 'Mallory', room);
      alice.send(first);
      alice.send(send.addTask({ id: 'task_2', title: 'Ship', column: 'todo' }, 'Alice', room));
      // kanban.html shows a card only once its echo comes back.
      await eventually(() => expect(alice.page.ids().todo).to.deep.equal(['task_1', 'task_2']));
      await eventually(() => expect(bob.page.ids().todo).to.deep.equal(['task_1', 'task_2']));
      expect(bob.page.find('task_1')!.task).to.deep.equal({ id: 'task_1', title: 'Write tests', description: 'with real frames', assignee: 'Alice' });

      // kanban.html sends move_task and listens for task_moved: both boards move the card (on Base, nobody's did).
      bob.send(send.moveTask('task_1', 'done', 'Bob', room));
      await eventually(() => expect(alice.page.ids()).to.deep.equal({ todo: ['task_2'], 'in-progress': [], done: ['task_1'] }));
      await eventually(() => expect(bob.page.ids().done).to.deep.equal(['task_1']));
      alice.send(send.deleteTask('task_2', 'Alice', room));
      await eventually(() => expect(bob.page.ids().todo).to.deep.equal([]));

      const late = await open(connectPaths.kanban('Carol', room), new KanbanPage());
      late.send(send.requestTasks());
      await late.waitFor((f) => f.type === 'tasks_update');
      expect(late.page.ids()).to.deep.equal({ todo: [], 'in-progress': [], done: ['task_1'] });
      expect(late.page.find('task_1')!.task.assignee).to.equal('Alice');
      // Asking is answered to the asker only.
      expect(alice.frames.filter((f) => f.type === 'tasks_update')).to.have.length(1);
      for (const p of [alice, bob, late]) expect(p.errors).to.deep.equal([]);
    });

    it('keeps cards it cannot show off the boards, gives a clashing id a fresh one, and sends card text as text', async () => {
      const room = uniqueRoom('kanban');
      const alice = await open(connectPaths.kanban('Alice', room), new KanbanPage());
      const bob = await open(connectPaths.kanban('Bob', room), new KanbanPage());
      await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
      alice.send(send.addTask({ id: 'task_9', title: 'bad column', column: 'backlog' }, 'Alice', room));
      alice.send(send.addTask({ id: 'task_9', title: '<img src=x onerror=alert(1)>', column: 'todo' }, 'Alice', room));
      await eventually(() => expect(bob.page.ids().todo).to.deep.equal(['task_9']));
      bob.send(send.addTask({ id: 'task_9', title: 'same millisecond', column: 'todo' }, 'Bob', room));
      await eventually(() => expect(alice.page.ids().todo).to.deep.equal(['task_9', 'task_9_2']));
      await eventually(() => expect(bob.page.ids().todo).to.deep.equal(['task_9', 'task_9_2']));
      expect(bob.page.find('task_9')!.task.title).to.equal('&lt;img src=x onerror=alert(1)&gt;');
      // The kanban page is not sent the error (it shows none); a generic client in the room sees the raw title.
      expect(alice.frames.some((f) => f.type === 'error')).to.equal(false);
      for (const p of [alice, bob]) expect(p.errors).to.deep.equal([]);
    });
  });

  describe('editor.html', () => {
    it('a joiner’s template never overwrites the room’s code: it gets the code; edits reach the others (not echoed to their sender)', async () => {
      const room = uniqueRoom('code');
      const alice = await open(connectPaths.editor('Alice', room), new EditorPage('Alice'));
      alice.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
      const edited = `${editorTemplate}\n// Alice was here`;
      alice.send(send.codeUpdate(edited));
      await eventually(async () => expect(textOf(stateOf(await t.app.store.get<StoredDoc>(docKey(room))))).to.equal(edited));

      const bob = await open(connectPaths.editor('Bob', room), new EditorPage('Bob'));
      bob.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
      await eventually(() => expect(bob.page.text).to.equal(edited)); // the room's code, not its own template
      await settle(alice);
      expect(alice.frames.filter((f) => f.type === 'code_update')).to.deep.equal([]); // nothing came back to Alice: no echo, no joiner's template

      const bobs = `${edited}\nconsole.log('Bob');`;
      bob.send(send.codeUpdate(bobs));
      await eventually(() => expect(alice.page.text).to.equal(bobs));
      expect(bob.frames.filter((f) => f.type === 'code_update')).to.have.length(1); // only the room's code on joining

      alice.send(send.editorCursor(12, 'Bob'));
      await eventually(() => expect(bob.page.cursors.get('Alice')).to.equal(12)); // labelled with the server's name, not the frame's
      const late = await open(connectPaths.editor('Carol', room), new EditorPage('Carol'));
      late.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
      await eventually(() => expect(late.page.text).to.equal(bobs));
      for (const p of [alice, bob, late]) expect(p.errors).to.deep.equal([]);
    });

    it('shares one document with the code editor example (Yjs), both ways', async () => {
      const room = uniqueRoom('code');
      const base = await open(connectPaths.editor('Alice', room), new EditorPage('Alice'));
      base.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
      const ed = await connect(t.url(`/examples/editor/socket?room=${room}&name=Bob`));
      const doc = new Y.Doc();
      const text = doc.getText('code');
      await eventually(async () => {
        const reply = await ed.request('', 'sync', { sv: toBase64(Y.encodeStateVector(doc)) });
        Y.applyUpdate(doc, fromBase64(reply.param.update));
        expect(text.toString()).to.equal(editorTemplate);
      });
      // A Base edit arrives as a Yjs update…
      base.send(send.codeUpdate(editorTemplate.replace('World', 'Base')));
      const update = await ed.waitFor((f) => f.cmd === 'update');
      Y.applyUpdate(doc, fromBase64(update.param.update));
      expect(text.toString()).to.equal(editorTemplate.replace('World', 'Base'));
      // …and a page's Yjs edit reaches the Base page as the whole text.
      const before = Y.encodeStateVector(doc);
      text.insert(0, '// from the editor page\n');
      await ed.request('', 'update', { update: toBase64(Y.encodeStateAsUpdate(doc, before)) });
      await eventually(() => expect(base.page.text).to.equal(`// from the editor page\n${editorTemplate.replace('World', 'Base')}`));
      expect(base.errors).to.deep.equal([]);
    });
  });

  describe('monitor.html', () => {
    it('charts the server’s real metrics, never the numbers pages make up; a late joiner gets the recent ones at once', async () => {
      const room = uniqueRoom('monitor');
      const a = await open(connectPaths.monitor(room), new MonitorPage());
      const made = send.systemMetrics();
      a.send(made);
      await eventually(() => expect(a.page.points.length).to.be.at.least(3));
      for (const p of a.page.points) {
        expect(p.cpu).to.be.within(0, 100);
        expect(p.memory).to.be.within(0.1, 100);
        expect(p.disk).to.be.within(0, 100);
      }
      const fake = made.frame.content as { cpu: number };
      expect(a.page.points.some((p) => p.cpu === fake.cpu)).to.equal(false);
      const before = [...a.page.points];
      const b = await open(connectPaths.monitor(room), new MonitorPage());
      await eventually(() => expect(b.page.points.length).to.be.at.least(3));
      expect(before).to.deep.include(b.page.points[0]); // replayed: a sample taken before it connected
      expect(new Set(b.frames.map((f) => f.type))).to.deep.equal(new Set(['system_metrics']));
      for (const p of [a, b]) expect(p.errors).to.deep.equal([]);
      await a.c.close();
      await b.c.close();
    });

    it('shows the disk as full as `df` says (used / (used + available), not of all blocks)', async () => {
      const a = await open(connectPaths.monitor(uniqueRoom('monitor')), new MonitorPage());
      await eventually(() => expect(a.page.points.length).to.be.at.least(1));
      // df's Use% of the server's working directory, rounded up.
      const df = Number(execFileSync('df', ['--output=pcent', process.cwd()], { encoding: 'utf8' }).split('\n')[1]!.trim().replace('%', ''));
      expect(a.page.points.at(-1)!.disk).to.be.within(df - 1, df);
      await a.c.close();
    });
  });

  describe('spreadsheet.html', () => {
    it('two sheets and a late joiner: cells both ways (echoed), cursors with the server’s names, the whole sheet on request_data', async () => {
      const room = uniqueRoom('sheet');
      const alice = await open(connectPaths.sheet('Alice', room), new SheetPage('Alice'));
      const bob = await open(connectPaths.sheet('Bob', room), new SheetPage('Bob'));
      for (const p of [alice, bob]) p.send(send.requestData());
      await bob.waitFor((f) => f.type === 'full_update');
      alice.send(send.cellUpdate(0, 0, '4'));
      alice.send(send.cellUpdate(0, 0, '42'));
      bob.send(send.cellUpdate(2, 3, 'total'));
      bob.send(send.cellUpdate(150, 3, 'beyond a 10 × 10 page'));
      await eventually(() => expect(Object.fromEntries(bob.page.cells)).to.deep.equal({ '0-0': '42', '2-3': 'total' }));
      await eventually(() => expect(Object.fromEntries(alice.page.cells)).to.deep.equal({ '0-0': '42', '2-3': 'total' }));
      alice.send(send.sheetCursor(2, 3, 'Bob'));
      await eventually(() => expect(bob.page.cursors.get('Alice')).to.equal('2-3'));

      const late = await open(connectPaths.sheet('Carol', room), new SheetPage('Carol'));
      late.send(send.requestData());
      const full = await late.waitFor((f) => f.type === 'full_update');
      expect(full.content).to.have.deep.members([
        { id: '0-0', value: '42', row: 0, col: 0 },
        { id: '2-3', value: 'total', row: 2, col: 3 },
        { id: '150-3', value: 'beyond a 10 × 10 page', row: 150, col: 3 },
      ]);
      expect(Object.fromEntries(late.page.cells)).to.deep.equal({ '0-0': '42', '2-3': 'total' });
      // An emptied cell leaves the state.
      bob.send(send.cellUpdate(2, 3, ''));
      await eventually(() => expect(alice.page.cells.get('2-3')).to.equal(''));
      const later = await open(connectPaths.sheet('Dan', room), new SheetPage('Dan'));
      later.send(send.requestData());
      expect((await later.waitFor((f) => f.type === 'full_update')).content.map((c: { id: string }) => c.id)).to.have.members(['0-0', '150-3']);
      for (const p of [alice, bob, late, later]) expect(p.errors).to.deep.equal([]);
    });
  });

  describe('any other Base client', () => {
    it('relays a type wsforge does not know to the whole room, the sender included, within bounds; pages are not sent it', async () => {
      const room = uniqueRoom('custom');
      const a = await open(`/api/ws?id=tool-a&nickname=Ann&room=${room}`, new ChatPage());
      const b = await open(`/api/ws?id=tool-b&nickname=Ben&room=${room}`, new ChatPage());
      const drawer = await open(connectPaths.draw('Dee', room), new DrawPage('Dee'));
      const editor = await open(connectPaths.editor('Eli', room), new EditorPage('Eli'));
      await b.waitFor((f) => f.type === 'users_update' && f.content.length === 4);
      a.send({ type: 'reaction', content: { emoji: '🎉', to: 'm1' }, room, nickname: 'Bob' });
      for (const p of [a, b]) expect(await p.waitFor((f) => f.type === 'reaction')).to.deep.include({ content: { emoji: '🎉', to: 'm1' }, nickname: 'Ann', room });
      // selection_update: editor.html would call updateRemoteSelection, which it does not have.
      a.send({ type: 'selection_update', content: { from: 1, to: 4 } });
      await b.waitFor((f) => f.type === 'selection_update');

      a.send({ type: 'blob', content: 'x'.repeat(baseLimits.maxRelayBytes) });
      expect(await a.waitFor((f) => f.type === 'error')).to.include({ code: 'limit_exceeded' });
      a.send({ type: 'users_update', content: ['Nobody'] });
      await a.waitFor((f) => f.type === 'error' && f.code === 'forbidden');
      a.send({ type: '1bad' });
      await a.waitFor((f) => f.type === 'error' && f.code === 'invalid_frame');
      await settle(a, b, drawer, editor);
      expect(b.frames.some((f) => f.type === 'blob' || (f.type === 'users_update' && f.content[0] === 'Nobody'))).to.equal(false);
      for (const p of [drawer, editor]) {
        expect(p.frames.map((f) => f.type).filter((x) => x !== 'users_update')).to.deep.equal([]);
        expect(p.errors).to.deep.equal([]);
      }
    });

    it('answers a page’s bad frame without breaking it (the page is not sent errors it cannot show), and applies the route’s rate limit', async () => {
      const room = uniqueRoom('limits');
      const drawer = await open(connectPaths.draw('Dee', room), new DrawPage('Dee'));
      drawer.send({ type: 'draw', content: { fromX: 'a', fromY: 0, toX: 1, toY: 1 } });
      drawer.send({ type: 'draw', content: { fromX: 0, fromY: 0, toX: 1, toY: 1, color: 'red;background:url(x)' } });
      const tool = await open(`/api/ws?id=tool-flood&room=${room}`, new ChatPage());
      await tool.waitFor((f) => f.type === 'users_update');
      // The Base routes' budget: rateFactor × the service's (150 a second, bursts of 300 by default).
      const { burst } = t.app.sockets!.limits.rateLimit;
      for (let i = 0; i < burst * baseLimits.rateFactor + 50; i++) tool.send({ type: 'ping', content: i });
      await tool.waitFor((f) => f.type === 'error' && f.code === 'rate_limited');
      await settle(drawer);
      expect(drawer.frames.filter((f) => f.type !== 'users_update')).to.deep.equal([]);
      expect(drawer.c.isOpen).to.equal(true);
    });
  });

  describe('bounded state', () => {
    // Base's pages read no `error` frame, so a client of Base's protocol that is none of them (it gets everything) sends the one too many.
    it('refuses a card past a full board and a cell past a full sheet with limit_exceeded, and relays neither', async () => {
      const room = uniqueRoom('full');
      const board = await open(connectPaths.kanban('Alice', room), new KanbanPage());
      const watcher = await open(connectPaths.kanban('Bob', room), new KanbanPage());
      const tool = await open(`/api/ws?id=tool-1&room=${room}`, new ChatPage());
      for (let i = 0; i < baseLimits.maxTasks; i++) board.send(send.addTask({ id: `task_${i}`, title: `card ${i}`, column: 'todo' }, 'Alice', room));
      await eventually(() => expect(watcher.page.ids().todo).to.have.length(baseLimits.maxTasks), 10_000);
      tool.send(send.addTask({ id: 'task_over', title: 'one too many', column: 'todo' }, 'Tool', room));
      const refused = await tool.waitFor((f) => f.type === 'error');
      expect(refused).to.deep.include({ code: 'limit_exceeded', content: `a board holds at most ${baseLimits.maxTasks} cards` });
      await sleep(100);
      expect(watcher.page.find('task_over')).to.equal(undefined);

      const sheetRoom = uniqueRoom('fullsheet');
      const sheet = await open(connectPaths.sheet('Alice', sheetRoom), new SheetPage('Alice'));
      const sheetTool = await open(`/api/ws?id=tool-2&room=${sheetRoom}`, new ChatPage());
      const cellsFull = baseLimits.maxSheetChars / baseLimits.maxCellLength;
      const value = 'x'.repeat(baseLimits.maxCellLength);
      // 100 full cells: spreadsheet.html's 10 × 10 grid, filled.
      for (let i = 0; i < cellsFull; i++) sheet.send(send.cellUpdate(i % 10, Math.floor(i / 10), value));
      await eventually(() => expect(sheet.page.cells.size).to.equal(cellsFull), 10_000);
      sheetTool.send(send.cellUpdate(20, 20, value));
      const full = await sheetTool.waitFor((f) => f.type === 'error');
      expect(full).to.deep.include({ code: 'limit_exceeded', content: `a sheet holds at most ${baseLimits.maxSheetChars} characters` });
      const late = await open(connectPaths.sheet('Carol', sheetRoom), new SheetPage('Carol'));
      late.send(send.requestData());
      const kept = await late.waitFor((f) => f.type === 'full_update');
      expect((kept.content as Array<{ id: string }>).map((c) => c.id)).to.have.length(cellsFull).and.not.include('20-20');
    });
  });
});
