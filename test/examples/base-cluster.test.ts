/**
 * Base Framework's pages across a cluster, for real: a redis-server and two wsforge node
 * processes (`node dist/main.js`, built here) on it. A Base client on one node and one on the
 * other share a room: frames relayed both ways, and a late joiner on either node gets the room's
 * state, which lives in the shared store (RedisStore).
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { closeAll, eventually, sleep } from '../helpers';
import { killAll, NodeProcess, RedisServer } from '../cluster/processes';
import { ChatPage, connectPaths, DrawPage, EditorPage, editorTemplate, KanbanPage, MonitorPage, send, SheetPage } from '../fixtures/base/pages';
import { openBasePage } from './base-client';

describe('Base pages on a cluster: a client on each of two nodes shares a room', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let n1: NodeProcess;
  let n2: NodeProcess;
  const tag = Date.now().toString(36);

  before(async () => {
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    redis = await RedisServer.start();
    const env = { SESSION_SECRET: 'base-cluster-test-secret-0123456789', REDIS_PREFIX: 'bc:', CLUSTER_HEARTBEAT_MS: '200', CLUSTER_NODE_TTL_MS: '1500', MONITOR_INTERVAL_MS: '200' };
    [n1, n2] = await Promise.all([NodeProcess.start({ nodeId: 'b1', redisUrl: redis.url, env }), NodeProcess.start({ nodeId: 'b2', redisUrl: redis.url, env })]);
  });
  after(async () => {
    await closeAll();
    killAll();
  });

  it('chat.html: messages both ways, and a late joiner on either node gets them', async () => {
    const a = await openBasePage(n1.url(`/api/ws?room=c-${tag}`), new ChatPage());
    const b = await openBasePage(n2.url(`/api/ws?room=c-${tag}`), new ChatPage());
    await b.waitFor((f) => f.type === 'users_update');
    a.send(send.chat('from node 1'));
    await b.waitFor((f) => f.content === 'from node 1');
    await a.waitFor((f) => f.content === 'from node 1'); // the echo
    b.send(send.chat('from node 2'));
    await a.waitFor((f) => f.content === 'from node 2');
    const late = await openBasePage(n1.url(`/api/ws?room=c-${tag}`), new ChatPage());
    await eventually(() => expect(late.page.lines.slice(-2)).to.deep.equal(['Received: from node 1', 'Received: from node 2']), 3000);
  });

  it('draw.html: lines both ways, a late joiner on the other node gets the canvas, a clear reaches everyone', async () => {
    const room = `d-${tag}`;
    const alice = await openBasePage(n1.url(connectPaths.draw('Alice', room)), new DrawPage('Alice'));
    const bob = await openBasePage(n2.url(connectPaths.draw('Bob', room)), new DrawPage('Bob'));
    await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    await alice.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    alice.send(send.draw({ fromX: 10, fromY: 10, toX: 40, toY: 30 }, { nickname: 'Alice' }));
    alice.send(send.draw({ fromX: 40, fromY: 30, toX: 80, toY: 35 }, { nickname: 'Alice' }));
    bob.send(send.draw({ fromX: 300, fromY: 300, toX: 320, toY: 340 }, { color: '#0000ff', nickname: 'Bob' }));
    await eventually(() => expect(bob.page.lines).to.have.length(3), 3000);
    await eventually(() => expect(alice.page.lines).to.have.length(3), 3000);
    expect(bob.page.cursors.get('Alice')).to.include({ x: 80, y: 35 });

    const carol = await openBasePage(n1.url(connectPaths.draw('Carol', room)), new DrawPage('Carol'));
    await eventually(() => expect(carol.page.lines).to.have.length(3), 3000);
    expect(carol.page.lines.map((l) => l.color).sort()).to.deep.equal(['#000000', '#000000', '#0000ff']);

    bob.send(send.clear());
    await eventually(() => expect([alice.page.clears, carol.page.clears]).to.deep.equal([1, 1]), 3000);
    for (const p of [alice, bob, carol]) expect(p.errors).to.deep.equal([]);
  });

  it('kanban.html and spreadsheet.html: the board and the sheet are one across nodes', async () => {
    const kanban = `k-${tag}`;
    const alice = await openBasePage(n1.url(connectPaths.kanban('Alice', kanban)), new KanbanPage());
    const bob = await openBasePage(n2.url(connectPaths.kanban('Bob', kanban)), new KanbanPage());
    await bob.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    await alice.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    alice.send(send.addTask({ id: 'task_a', title: 'Across nodes', column: 'todo' }, 'Alice', kanban));
    await eventually(() => expect(bob.page.ids().todo).to.deep.equal(['task_a']), 3000);
    bob.send(send.moveTask('task_a', 'in-progress', 'Bob', kanban));
    await eventually(() => expect(alice.page.ids()['in-progress']).to.deep.equal(['task_a']), 3000);
    const lateBoard = await openBasePage(n2.url(connectPaths.kanban('Carol', kanban)), new KanbanPage());
    lateBoard.send(send.requestTasks());
    await lateBoard.waitFor((f) => f.type === 'tasks_update');
    expect(lateBoard.page.ids()).to.deep.equal({ todo: [], 'in-progress': ['task_a'], done: [] });

    const sheet = `s-${tag}`;
    const ann = await openBasePage(n1.url(connectPaths.sheet('Ann', sheet)), new SheetPage('Ann'));
    const ben = await openBasePage(n2.url(connectPaths.sheet('Ben', sheet)), new SheetPage('Ben'));
    await ben.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    await ann.waitFor((f) => f.type === 'users_update' && f.content.length === 2);
    ben.send(send.cellUpdate(4, 4, 'from node 2'));
    await eventually(() => expect(ann.page.cells.get('4-4')).to.equal('from node 2'), 3000);
    const lateSheet = await openBasePage(n1.url(connectPaths.sheet('Cy', sheet)), new SheetPage('Cy'));
    lateSheet.send(send.requestData());
    await lateSheet.waitFor((f) => f.type === 'full_update');
    expect(Object.fromEntries(lateSheet.page.cells)).to.deep.equal({ '4-4': 'from node 2' });
    for (const p of [alice, bob, lateBoard, ann, ben, lateSheet]) expect(p.errors).to.deep.equal([]);
  });

  it('editor.html: a joiner on the other node gets the room’s code, not its template; edits cross nodes', async () => {
    const room = `e-${tag}`;
    const alice = await openBasePage(n1.url(connectPaths.editor('Alice', room)), new EditorPage('Alice'));
    await alice.waitFor((f) => f.type === 'users_update');
    alice.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
    const hers = `${editorTemplate}\n// Alice, node 1`;
    alice.send(send.codeUpdate(hers));
    const bob = await openBasePage(n2.url(connectPaths.editor('Bob', room)), new EditorPage('Bob'));
    await bob.waitFor((f) => f.type === 'users_update');
    bob.send(send.codeUpdate(editorTemplate, 'connect (onopen → sendCodeUpdate of the template)'));
    await eventually(() => expect(bob.page.text).to.equal(hers), 3000);
    const his = `${hers}\n// Bob, node 2`;
    bob.send(send.codeUpdate(his));
    await eventually(() => expect(alice.page.text).to.equal(his), 3000);
    for (const p of [alice, bob]) expect(p.errors).to.deep.equal([]);
  });

  it('monitor.html: each node sends its own metrics to its own monitor pages', async () => {
    const room = `m-${tag}`;
    const m1 = await openBasePage(n1.url(connectPaths.monitor(room)), new MonitorPage());
    const m2 = await openBasePage(n2.url(connectPaths.monitor(room)), new MonitorPage());
    await eventually(() => expect(Math.min(m1.page.points.length, m2.page.points.length)).to.be.at.least(3), 5000);
    // One sample per interval (200 ms) from its own node, not one from each node: about 5 a second.
    const start = [m1.page.points.length, m2.page.points.length];
    await sleep(1000);
    expect(m1.page.points.length - start[0]!).to.be.within(3, 7);
    expect(m2.page.points.length - start[1]!).to.be.within(3, 7);
    for (const p of [m1, m2]) expect(p.errors).to.deep.equal([]);
  });
});
