import { expect } from 'chai';
import { applyOp, BoardError, cleanText, execute, kanbanLimits, newBoard, resolve, TRASH_SIZE, type Board, type Command, type Op } from '../../server/features/kanban/board';
import { createKanbanFeature } from '../../server/features/kanban/routes';
import { closeAll, connect, refusedUpgrade, startApp, type Frame, type TestApp, type TestClient } from '../helpers';

/** Column contents as `{ todo: [...], doing: [...], done: [...] }`. */
const layout = (b: Board) => Object.fromEntries(b.columns.map((c) => [c.id, c.cards]));
const texts = (b: Board) => Object.fromEntries(b.columns.map((c) => [c.id, c.cards.map((id) => b.cards[id]!.text)]));

/** A tiny server: applies commands in arrival order and keeps the op log pages replay. */
class Server {
  board = newBoard();
  readonly log: Op[] = [];
  constructor(private readonly limits = kanbanLimits) {}
  run(cmd: Command, actor = 'someone'): Op | undefined {
    const r = execute(this.board, cmd, actor, 1000 + this.log.length, this.limits);
    this.board = r.board;
    if (r.op) this.log.push(r.op);
    return r.op;
  }
  /** The error code a command is refused with. */
  refuse(cmd: Command): string {
    try {
      this.run(cmd);
    } catch (e) {
      expect(e).to.be.instanceOf(BoardError);
      return (e as BoardError).code;
    }
    throw new Error(`${JSON.stringify(cmd)} was accepted`);
  }
}
const replay = (ops: Op[], from = newBoard()) => ops.reduce(applyOp, from);

describe('kanban board rules', () => {
  it('starts with three empty columns at version 0', () => {
    expect(layout(newBoard())).to.deep.equal({ todo: [], doing: [], done: [] });
    expect(newBoard().version).to.equal(0);
  });

  it('adds cards with server ids, at the end or before a card, with cleaned text', () => {
    const s = new Server();
    s.run({ type: 'add', column: 'todo', text: 'first' }, 'ann');
    s.run({ type: 'add', column: 'todo', text: '  second\u0000\u001b\n line 2 ' });
    s.run({ type: 'add', column: 'todo', text: 'zeroth', before: 'c1' });
    s.run({ type: 'add', column: 'todo', text: 'last', before: 'c999' });
    expect(layout(s.board).todo).to.deep.equal(['c3', 'c1', 'c2', 'c4']);
    expect(s.board.cards.c2!.text).to.equal('second\n line 2');
    expect(s.board.cards.c1).to.deep.include({ version: 1, createdBy: 'ann', updatedBy: 'ann' });
    expect(s.board.version).to.equal(4);
    expect(cleanText('\t tab\u200b ok\u0007 ')).to.equal('tab\u200b ok');
  });

  it('refuses empty or long text, unknown columns and boards past maxCards', () => {
    const s = new Server({ ...kanbanLimits, maxCards: 2, maxTextLength: 10 });
    expect(s.refuse({ type: 'add', column: 'todo', text: ' \u0001 ' })).to.equal('invalid_param');
    expect(s.refuse({ type: 'add', column: 'todo', text: 'x'.repeat(11) })).to.equal('invalid_param');
    expect(s.refuse({ type: 'add', column: 'nope', text: 'x' })).to.equal('not_found');
    s.run({ type: 'add', column: 'todo', text: 'a' });
    s.run({ type: 'add', column: 'todo', text: 'b' });
    expect(s.refuse({ type: 'add', column: 'todo', text: 'c' })).to.equal('limit_exceeded');
    expect(s.board.version).to.equal(2); // refusals change nothing
  });

  it('edits compare the version the client saw: a stale edit is a conflict', () => {
    const s = new Server();
    s.run({ type: 'add', column: 'todo', text: 'draft' });
    s.run({ type: 'edit', card: 'c1', text: 'by ann', version: 1 }, 'ann');
    expect(s.board.cards.c1).to.deep.include({ text: 'by ann', version: 2, updatedBy: 'ann' });
    // Bob also started from version 1: refused, and the message says who changed it.
    let message = '';
    try {
      execute(s.board, { type: 'edit', card: 'c1', text: 'by bob', version: 1 }, 'bob', 0);
    } catch (e) {
      expect((e as BoardError).code).to.equal('conflict');
      message = (e as Error).message;
    }
    expect(message).to.include('ann changed card c1').and.include('version 1, now 2');
    expect(s.board.cards.c1!.text).to.equal('by ann');
    // Same text: nothing to do, no op, no version.
    expect(s.run({ type: 'edit', card: 'c1', text: ' by ann ', version: 2 })).to.equal(undefined);
    expect(s.board.version).to.equal(2);
    expect(s.refuse({ type: 'edit', card: 'c9', text: 'x', version: 1 })).to.equal('not_found');
  });

  it('moves are positional: before a card, else at the end; a move to where the card is does nothing', () => {
    const s = new Server();
    for (const t of ['a', 'b', 'c']) s.run({ type: 'add', column: 'todo', text: t });
    s.run({ type: 'move', card: 'c3', column: 'todo', before: 'c1' });
    expect(layout(s.board).todo).to.deep.equal(['c3', 'c1', 'c2']);
    s.run({ type: 'move', card: 'c3', column: 'todo', before: null }); // to the end
    expect(layout(s.board).todo).to.deep.equal(['c1', 'c2', 'c3']);
    s.run({ type: 'move', card: 'c1', column: 'done' });
    expect(layout(s.board)).to.deep.equal({ todo: ['c2', 'c3'], doing: [], done: ['c1'] });
    const v = s.board.version;
    expect(s.run({ type: 'move', card: 'c3', column: 'todo', before: null })).to.equal(undefined);
    expect(s.run({ type: 'move', card: 'c2', column: 'todo', before: 'c3' })).to.equal(undefined);
    expect(s.run({ type: 'move', card: 'c2', column: 'todo', before: 'c2' })).to.equal(undefined);
    expect(s.board.version).to.equal(v);
    expect(s.board.cards.c1!.version).to.equal(1); // moving is not editing
    expect(s.refuse({ type: 'move', card: 'c7', column: 'todo' })).to.equal('not_found');
    expect(s.refuse({ type: 'move', card: 'c1', column: 'later' })).to.equal('not_found');
  });

  it('deletes compare versions too, and a deleted card is not_found afterwards', () => {
    const s = new Server();
    s.run({ type: 'add', column: 'todo', text: 'a' });
    s.run({ type: 'edit', card: 'c1', text: 'a2', version: 1 });
    expect(s.refuse({ type: 'delete', card: 'c1', version: 1 })).to.equal('conflict');
    s.run({ type: 'delete', card: 'c1', version: 2 });
    expect(layout(s.board).todo).to.deep.equal([]);
    expect(s.refuse({ type: 'delete', card: 'c1', version: 2 })).to.equal('not_found');
    expect(s.refuse({ type: 'edit', card: 'c1', text: 'x', version: 2 })).to.equal('not_found');
    s.run({ type: 'add', column: 'todo', text: 'b' });
    expect(layout(s.board).todo).to.deep.equal(['c2']); // ids are never reused
  });

  it('restores a deleted card for undoMs: its text, version, authors and place; then it is not_found', () => {
    const s = new Server({ ...kanbanLimits, maxCards: 3 });
    for (const text of ['a', 'b', 'c']) s.run({ type: 'add', column: 'todo', text }, 'ann');
    s.run({ type: 'edit', card: 'c2', text: 'b2', version: 1 }, 'ann');
    const card = s.board.cards.c2!;
    const at = 1000 + s.log.length; // the Server's clock
    expect(s.run({ type: 'delete', card: 'c2', version: 2 }, 'bob')).to.deep.equal({ type: 'delete', card: 'c2', by: 'bob', at });
    expect(s.board.trash).to.deep.equal([{ card, column: 'todo', index: 1, by: 'bob', at }]);
    expect(s.refuse({ type: 'restore', card: 'c1' })).to.equal('conflict'); // on the board
    expect(s.refuse({ type: 'restore', card: 'c9' })).to.equal('not_found'); // never deleted
    s.run({ type: 'add', column: 'todo', text: 'd' });
    expect(s.refuse({ type: 'restore', card: 'c2' })).to.equal('limit_exceeded'); // the board filled up meanwhile
    s.run({ type: 'delete', card: 'c4', version: 1 });
    s.run({ type: 'move', card: 'c3', column: 'done' });
    s.run({ type: 'restore', card: 'c2' }, 'cid');
    expect(layout(s.board)).to.deep.equal({ todo: ['c1', 'c2'], doing: [], done: ['c3'] });
    expect(s.board.cards.c2).to.deep.equal(card); // as it was, not "edited by cid"
    expect(s.board.trash!.map((t) => t.card.id)).to.deep.equal(['c4']);
    expect(s.refuse({ type: 'restore', card: 'c2' })).to.equal('conflict');
    expect(replay(s.log)).to.deep.equal(s.board); // pages replaying the ops hold the same trash

    // Once undoMs has passed, the card cannot come back.
    const deletedAt = s.board.trash![0]!.at;
    const late = () => execute(s.board, { type: 'restore', card: 'c4' }, 'x', deletedAt + kanbanLimits.undoMs);
    expect(late).to.throw(BoardError, 'card c4 can no longer be restored');
    expect(execute(s.board, { type: 'restore', card: 'c4' }, 'x', deletedAt + kanbanLimits.undoMs - 1).op?.type).to.equal('restore');
  });

  it('keeps the last TRASH_SIZE deleted cards', () => {
    const s = new Server({ ...kanbanLimits, maxCards: TRASH_SIZE + 5 });
    for (let i = 1; i <= TRASH_SIZE + 5; i++) s.run({ type: 'add', column: 'todo', text: `t${i}` });
    for (let i = 1; i <= TRASH_SIZE + 5; i++) s.run({ type: 'delete', card: `c${i}`, version: 1 });
    expect(s.board.trash!.map((t) => t.card.id)).to.deep.equal(Array.from({ length: TRASH_SIZE }, (_, i) => `c${i + 6}`));
    expect(s.refuse({ type: 'restore', card: 'c5' })).to.equal('not_found');
  });

  describe('concurrent changes resolve the same way for everyone', () => {
    /** A board with todo: c1 c2 c3, doing: c4, done: (empty), as every client saw it at version 4. */
    const start = () => {
      const s = new Server();
      for (const t of ['one', 'two', 'three']) s.run({ type: 'add', column: 'todo', text: t });
      s.run({ type: 'add', column: 'doing', text: 'four' });
      return s;
    };

    it('two moves of one card: the server applies both in its order, the later one wins', () => {
      for (const order of [
        ['ann', 'bob'],
        ['bob', 'ann'],
      ]) {
        const s = start();
        const seen = s.board;
        const cmds: Record<string, Command> = {
          ann: { type: 'move', card: 'c1', column: 'done' },
          bob: { type: 'move', card: 'c1', column: 'doing', before: 'c4' },
        };
        for (const who of order) s.run(cmds[who]!, who);
        const last = order[1] === 'ann' ? { doing: ['c4'], done: ['c1'] } : { doing: ['c1', 'c4'], done: [] };
        expect(layout(s.board)).to.deep.include(last);
        // Ann's and Bob's pages apply the same two ops on the board they saw: the server's board.
        expect(replay(s.log.slice(4), seen)).to.deep.equal(s.board);
      }
    });

    it('a move "before Y" while Y moves elsewhere lands at the end of the column', () => {
      const s = start();
      s.run({ type: 'move', card: 'c2', column: 'doing' }, 'ann'); // ann moves Y = c2 away
      s.run({ type: 'move', card: 'c3', column: 'todo', before: 'c2' }, 'bob'); // bob saw c2 in todo
      expect(layout(s.board).todo).to.deep.equal(['c1', 'c3']);
      s.run({ type: 'move', card: 'c1', column: 'doing', before: 'c9' }, 'cid'); // deleted/unknown Y
      expect(layout(s.board).doing).to.deep.equal(['c4', 'c2', 'c1']);
    });

    it('two edits from the same version: the first is applied, the second is a conflict; an edit and a move both apply', () => {
      const s = start();
      s.run({ type: 'edit', card: 'c1', text: 'ann was here', version: 1 }, 'ann');
      expect(s.refuse({ type: 'edit', card: 'c1', text: 'bob was here', version: 1 })).to.equal('conflict');
      s.run({ type: 'move', card: 'c1', column: 'done' }, 'bob');
      expect(texts(s.board).done).to.deep.equal(['ann was here']);
    });

    it('a delete and an edit of one card: whichever the server takes first wins, the other is refused', () => {
      const a = start();
      a.run({ type: 'delete', card: 'c2', version: 1 });
      expect(a.refuse({ type: 'edit', card: 'c2', text: 'x', version: 1 })).to.equal('not_found');
      const b = start();
      b.run({ type: 'edit', card: 'c2', text: 'x', version: 1 });
      expect(b.refuse({ type: 'delete', card: 'c2', version: 1 })).to.equal('conflict');
    });

    it('random concurrent commands from stale pages: every page that replays the ops ends with the server board', () => {
      let seed = 99;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
      const s = new Server({ ...kanbanLimits, maxCards: 15, maxTextLength: 20 });
      // Each page knows the board up to some op: its view lags behind by a random amount.
      const pages = Array.from({ length: 4 }, () => ({ seen: 0, board: newBoard() }));
      let refused = 0;
      for (let step = 0; step < 3000; step++) {
        const page = pick(pages);
        if (rand() < 0.5) {
          // The page catches up on some of the ops it has not applied yet.
          const upTo = page.seen + Math.floor(rand() * (s.log.length - page.seen + 1));
          page.board = replay(s.log.slice(page.seen, upTo), page.board);
          page.seen = upTo;
        }
        const ids = Object.keys(page.board.cards);
        const col = pick(page.board.columns);
        const some = ids.length ? pick(ids) : 'c1';
        const card = page.board.cards[some];
        const cmd = pick<Command>([
          { type: 'add', column: col.id, text: `t${step}`, before: rand() < 0.5 ? pick([...col.cards, null]) : null },
          { type: 'edit', card: some, text: `e${step}`, version: card?.version ?? 1 },
          { type: 'move', card: some, column: col.id, before: pick([...col.cards, null]) },
          { type: 'move', card: some, column: col.id, before: pick([...col.cards, null]) },
          { type: 'delete', card: some, version: card?.version ?? 1 },
          { type: 'restore', card: page.board.trash?.length ? pick(page.board.trash).card.id : some },
        ]);
        try {
          s.run(cmd);
        } catch (e) {
          expect(e).to.be.instanceOf(BoardError);
          refused++;
        }
        // Invariants: every card in exactly one column, no unknown ids, within the bound.
        const placed = s.board.columns.flatMap((c) => c.cards);
        expect(new Set(placed).size).to.equal(placed.length);
        expect(placed.slice().sort()).to.deep.equal(Object.keys(s.board.cards).sort());
        expect(placed.length).to.be.at.most(15);
      }
      for (const page of pages) expect(replay(s.log.slice(page.seen), page.board)).to.deep.equal(s.board);
      expect(s.board.version).to.equal(s.log.length);
      expect(refused).to.be.above(100); // the run did exercise conflicts and missing cards
      expect(s.log.filter((o) => o.type === 'move').length).to.be.above(300);
    });
  });

  it('resolve never modifies the board it is given', () => {
    const s = new Server();
    s.run({ type: 'add', column: 'todo', text: 'a' });
    const before = JSON.stringify(s.board);
    const op = resolve(s.board, { type: 'move', card: 'c1', column: 'done' }, 'x', 0)!;
    applyOp(s.board, op);
    expect(JSON.stringify(s.board)).to.equal(before);
  });
});

describe('kanban over WebSockets', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ features: [createKanbanFeature({ path: '/t/kanban', limits: { maxCards: 3 } })] });
  });
  after(closeAll);

  async function client(room: string, name: string, path = '/examples/kanban'): Promise<TestClient> {
    const res = await fetch(t.httpUrl(path));
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return connect(t.url(`${path}/socket?room=${room}&name=${name}`), { headers: { cookie } });
  }
  const reply = async (c: TestClient, cmd: string, param: unknown = {}) => {
    const f = await c.request('', cmd, param);
    expect(f.cmd, JSON.stringify(f.param)).to.equal('reply');
    return f.param;
  };
  const error = async (c: TestClient, cmd: string, param: unknown) => {
    const f = await c.request('', cmd, param);
    expect(f.cmd, JSON.stringify(f.param)).to.equal('error');
    return f.param as { code: string; message: string };
  };
  /** A page's board: the sync snapshot plus every op received after it, in order. */
  const pageBoard = (snapshot: Board, frames: Frame[]) =>
    frames.filter((f) => f.cmd === 'op' && f.param.version > snapshot.version).reduce((b, f) => applyOp(b, f.param.op), snapshot);

  it('serves the page, escaped, and refuses a bad room at the upgrade', async () => {
    const body = await (await fetch(t.httpUrl('/examples/kanban?room=team-7&name=%22x%22'))).text();
    expect(body).to.include('data-room="team-7"').and.include('data-name="&quot;x&quot;"').and.include('/js/pages/kanban.js').and.include('/css/kanban.css');
    expect((await refusedUpgrade(t.url('/examples/kanban/socket?room=a/b'))).status).to.equal(400);
  });

  it('broadcasts every applied change as an op with the board version; a late joiner gets the board', async () => {
    const a = await client('k1', 'ann');
    const b = await client('k1', 'bob');
    const s0 = (await reply(a, 'sync')).board as Board;
    expect(s0).to.deep.equal(newBoard());
    const added = await reply(a, 'add', { column: 'todo', text: 'write docs' });
    expect(added).to.deep.equal({ version: 1, card: 'c1' });
    const op = await b.waitFor({ cmd: 'op' });
    expect(op.param).to.deep.include({ version: 1, by: 'ann' });
    expect(op.param.op).to.deep.include({ type: 'add', column: 'todo', index: 0 });
    expect(op.param.op.card).to.deep.include({ id: 'c1', text: 'write docs', version: 1, createdBy: 'ann' });
    await a.waitFor({ cmd: 'op' }); // the sender gets it too
    await reply(b, 'add', { column: 'todo', text: 'ship', before: 'c1' });
    await reply(b, 'move', { card: 'c1', column: 'doing' });
    await reply(a, 'edit', { card: 'c1', text: 'write the docs', version: 1 });
    const late = await client('k1', 'cid');
    const s = await reply(late, 'sync');
    expect(s.board.version).to.equal(4);
    expect(texts(s.board)).to.deep.equal({ todo: ['ship'], doing: ['write the docs'], done: [] });
    expect(s.users.map((u: { name: string }) => u.name).sort()).to.deep.equal(['ann', 'bob', 'cid']);
    expect(s.me.name).to.equal('cid');
    await a.sync();
    expect(pageBoard(s0, a.frames)).to.deep.equal(s.board);
  });

  it('concurrent edits from the same version: one applies, the other gets a conflict, both pages converge', async () => {
    const a = await client('k2', 'ann');
    const b = await client('k2', 'bob');
    await reply(a, 'add', { column: 'todo', text: 'original' });
    await b.waitFor({ cmd: 'op' });
    const snapshot = (await reply(a, 'sync')).board as Board;
    const [ra, rb] = await Promise.all([a.request('', 'edit', { card: 'c1', text: 'ann', version: 1 }), b.request('', 'edit', { card: 'c1', text: 'bob', version: 1 })]);
    const answers = [ra, rb].map((f) => (f.cmd === 'reply' ? 'ok' : f.param.code)).sort();
    expect(answers).to.deep.equal(['conflict', 'ok']);
    const loser = ra.cmd === 'error' ? ra : rb;
    expect(loser.param.message).to.match(/(ann|bob) changed card c1 since you saw it/);
    await a.sync();
    await b.sync();
    const final = (await reply(a, 'sync')).board as Board;
    expect(final.version).to.equal(2);
    const ma = a.frames.slice(a.frames.findIndex((f) => f.cmd === 'reply' && f.param?.board));
    expect(pageBoard(snapshot, ma)).to.deep.equal(final);
    expect(pageBoard(snapshot, b.frames)).to.deep.equal(final);
  });

  it('concurrent moves by two pages: both get every op in one order and end with the server board', async () => {
    const a = await client('k3', 'ann');
    const b = await client('k3', 'bob');
    for (const x of ['a', 'b', 'c', 'd']) await reply(a, 'add', { column: 'todo', text: x });
    const snapshot = (await reply(b, 'sync')).board as Board;
    const from = { a: a.frames.length, b: b.frames.length };
    const moves = [
      [a, { card: 'c1', column: 'done' }],
      [b, { card: 'c1', column: 'doing' }],
      [a, { card: 'c4', column: 'todo', before: 'c2' }],
      [b, { card: 'c2', column: 'done', before: 'c1' }],
      [a, { card: 'c3', column: 'doing', before: 'c1' }],
      [b, { card: 'c4', column: 'doing', before: 'c3' }],
    ] as const;
    await Promise.all(moves.map(([c, m]) => c.request('', 'move', m)));
    await a.sync();
    await b.sync();
    const opsA = a.since(from.a, { cmd: 'op' }).map((f) => f.param);
    const opsB = b.since(from.b, { cmd: 'op' }).map((f) => f.param);
    expect(opsA).to.deep.equal(opsB);
    expect(opsA.map((o) => o.version)).to.deep.equal(opsA.map((_, i) => snapshot.version + i + 1));
    const final = (await reply(a, 'sync')).board as Board;
    expect(pageBoard(snapshot, a.frames.slice(from.a))).to.deep.equal(final);
    expect(pageBoard(snapshot, b.frames.slice(from.b))).to.deep.equal(final);
  });

  it('stale deletes are conflicts, missing cards not_found, bad params invalid_param, full boards limit_exceeded', async () => {
    const a = await client('k4', 'ann', '/t/kanban');
    await reply(a, 'add', { column: 'todo', text: 'x' });
    await reply(a, 'edit', { card: 'c1', text: 'y', version: 1 });
    expect((await error(a, 'delete', { card: 'c1', version: 1 })).code).to.equal('conflict');
    expect(await reply(a, 'delete', { card: 'c1', version: 2 })).to.deep.equal({ version: 3 });
    expect((await error(a, 'edit', { card: 'c1', text: 'z', version: 2 })).code).to.equal('not_found');
    expect((await error(a, 'move', { card: 'c1', column: 'done' })).code).to.equal('not_found');
    expect((await error(a, 'add', { column: 'todo', text: 'x'.repeat(501) })).code).to.equal('invalid_param');
    expect((await error(a, 'add', { column: 'todo', text: '   ' })).code).to.equal('invalid_param');
    expect((await error(a, 'move', { card: '1; drop', column: 'done' })).code).to.equal('invalid_param');
    expect((await error(a, 'edit', { card: 'c1', text: 'x', version: 0 })).code).to.equal('invalid_param');
    for (const x of ['a', 'b', 'c']) await reply(a, 'add', { column: 'todo', text: x });
    expect(await error(a, 'add', { column: 'todo', text: 'd' })).to.deep.equal({ code: 'limit_exceeded', message: 'a board has at most 3 cards: delete some first' });
    expect((await error(a, 'add', { column: 'someday', text: 'd' })).code).to.equal('not_found');
  });

  it('undoes a delete through the server: everyone gets the restore op, the card is back as and where it was', async () => {
    const a = await client('k6', 'ann');
    const b = await client('k6', 'bob');
    for (const text of ['one', 'two', 'three']) await reply(a, 'add', { column: 'todo', text });
    const start = await reply(b, 'sync');
    expect(start.limits.undoMs).to.equal(kanbanLimits.undoMs);
    expect(await reply(a, 'delete', { card: 'c2', version: 1 })).to.deep.equal({ version: 4 });
    expect((await error(b, 'restore', { card: 'c1' })).code).to.equal('conflict'); // still on the board
    expect(await reply(b, 'restore', { card: 'c2' })).to.deep.equal({ version: 5 });
    const ops = [await b.waitFor((f) => f.cmd === 'op' && f.param.version === 4), await b.waitFor((f) => f.cmd === 'op' && f.param.version === 5)];
    expect(ops.map((f) => [f.param.by, f.param.op.type])).to.deep.equal([
      ['ann', 'delete'],
      ['bob', 'restore'],
    ]);
    expect(ops[1]!.param.op).to.deep.equal({ type: 'restore', card: start.board.cards.c2, column: 'todo', index: 1 });
    const now = (await reply(a, 'sync')).board as Board;
    expect(texts(now).todo).to.deep.equal(['one', 'two', 'three']);
    expect(pageBoard(start.board, b.frames)).to.deep.equal(now);
    expect((await error(a, 'restore', { card: 'c2' })).code).to.equal('conflict');
    expect((await error(a, 'restore', { card: 'c7' })).message).to.equal('card c7 can no longer be restored');
    expect((await error(a, 'restore', { card: '2' })).code).to.equal('invalid_param');
  });

  it('keeps boards per room and a connection to its room', async () => {
    const a = await client('k5', 'ann');
    const other = await client('k5-other', 'bob');
    await reply(a, 'add', { column: 'todo', text: 'only here' });
    expect(Object.keys((await reply(other, 'sync')).board.cards)).to.deep.equal([]);
    const f = await other.request('kanban:k5', 'join');
    expect(f.param.code).to.equal('forbidden');
  });
});
