import { expect } from 'chai';
import { dependencies, evaluate, expandRange, FormulaError, parseFormula, parseRef, type Value } from '../../server/features/sheet/formula';
import { applyEdit, emptySheet, MAX_INPUT_LENGTH, MAX_LINKS, snapshot, type SheetState } from '../../server/features/sheet/sheet';
import { closeAll, connect, refusedUpgrade, startApp, type TestApp, type TestClient } from '../helpers';

/** Evaluates a formula (without '=') against a map of cell values. */
const calc = (src: string, values: Record<string, Value> = {}) => evaluate(parseFormula(src), (r) => values[r] ?? null);

/** Applies an edit that must succeed, with the right base version. */
function set(state: SheetState, ref: string, input: string, by = 'tester') {
  const r = applyEdit(state, ref, input, state.cells[ref]?.version ?? 0, by);
  if (r.status !== 'ok') throw new Error(`edit ${ref}=${input}: ${JSON.stringify(r)}`);
  return r;
}
/** A cell's shown value: the error code, or the value. */
const shown = (state: SheetState, ref: string) => {
  const c = state.cells[ref];
  return c?.error ?? c?.value ?? null;
};

describe('spreadsheet formulas', () => {
  it('parses numbers, + - * /, precedence, parentheses and unary minus', () => {
    expect(calc('1+2*3')).to.equal(7);
    expect(calc('(1+2)*3')).to.equal(9);
    expect(calc('10-4-3')).to.equal(3); // left associative
    expect(calc('100/10/5')).to.equal(2);
    expect(calc('-3+5')).to.equal(2);
    expect(calc('--3')).to.equal(3);
    expect(calc('-(2+3)*2')).to.equal(-10);
    expect(calc('2*-3')).to.equal(-6);
    expect(calc('+4')).to.equal(4);
    expect(calc(' 1.5e2 + .5 ')).to.equal(150.5);
    expect(calc('0.1+0.2')).to.be.closeTo(0.3, 1e-12);
  });

  it('reads cell references, case-insensitively; empty cells are 0', () => {
    expect(calc('A1*2+b2', { A1: 21, B2: 1 })).to.equal(43);
    expect(calc('C3')).to.equal(0);
    expect(calc('Z100+1', { Z100: 1 })).to.equal(2);
  });

  it('SUM, AVG (AVERAGE), MIN and MAX over ranges, references and expressions', () => {
    const v = { A1: 1, A2: 2, A3: 3, B1: 10, B2: 'text', B3: null };
    expect(calc('SUM(A1:A3)', v)).to.equal(6);
    expect(calc('sum(A3:A1)', v)).to.equal(6); // corners in any order
    expect(calc('SUM(A1:B3)', v)).to.equal(16); // text and empty cells skipped
    expect(calc('AVG(A1:A3)', v)).to.equal(2);
    expect(calc('AVERAGE(A1:B1)', v)).to.equal(5.5);
    expect(calc('MIN(A1:B3, -4)', v)).to.equal(-4);
    expect(calc('MAX(A1:A3, B1*2, 7)', v)).to.equal(20);
    expect(calc('SUM()', v)).to.equal(0);
    expect(calc('SUM(A1:A3)/SUM(A1,A2)', v)).to.equal(2);
    expect(calc('MAX(C1:C5)', v)).to.equal(0);
    expect(calc('AVG(C1:C5)', v)).to.deep.equal({ error: '#DIV/0!' });
  });

  it('lists what a formula reads, each once', () => {
    expect(dependencies(parseFormula('A1+a1*SUM(B1:C2, D4)+MAX(B1:C2)'))).to.deep.equal(['A1', 'B1:C2', 'D4']);
    expect(dependencies(parseFormula('1+2'))).to.deep.equal([]);
    expect(expandRange('B2', 'A1')).to.deep.equal(['A1', 'B1', 'A2', 'B2']);
  });

  it('bad formulas throw FormulaError (→ #ERROR!) instead of evaluating anything', () => {
    for (const bad of ['', '1+', '(1+2', '1+2)', '1 2', 'A1:B2', 'A1:B2+1', 'SUM(A1:)', 'FOO', '1+*2', '3 $ 4', 'A1B', '1..2', 'SUM(1,,2)', "alert('x')", 'constructor']) {
      expect(() => parseFormula(bad), bad).to.throw(FormulaError);
    }
    expect(() => parseFormula(`${'('.repeat(100)}1${')'.repeat(100)}`)).to.throw(FormulaError, /nested too deeply/);
    expect(() => parseFormula(`${'-'.repeat(100)}1`)).to.throw(FormulaError, /nested too deeply/);
  });

  it('clear error values: #DIV/0!, #REF!, #NAME?, #VALUE!, #NUM!; errors propagate', () => {
    expect(calc('1/0')).to.deep.equal({ error: '#DIV/0!' });
    expect(calc('1/A1')).to.deep.equal({ error: '#DIV/0!' });
    expect(calc('AA1+1')).to.deep.equal({ error: '#REF!' }); // column past Z
    expect(calc('A101')).to.deep.equal({ error: '#REF!' }); // row past 100
    expect(calc('A0')).to.deep.equal({ error: '#REF!' });
    expect(calc('SUM(A1:A101)')).to.deep.equal({ error: '#REF!' });
    expect(calc('MEDIAN(A1:A3)')).to.deep.equal({ error: '#NAME?' });
    expect(calc('A1*2', { A1: 'hello' })).to.deep.equal({ error: '#VALUE!' });
    expect(calc('1e308*10')).to.deep.equal({ error: '#NUM!' });
    expect(calc('A1+1', { A1: { error: '#CYCLE!' } })).to.deep.equal({ error: '#CYCLE!' });
    expect(calc('SUM(A1:A3)', { A2: { error: '#DIV/0!' } })).to.deep.equal({ error: '#DIV/0!' });
  });

  it('parseRef keeps references inside A1…Z100', () => {
    expect(parseRef('a1')).to.deep.equal({ col: 0, row: 0 });
    expect(parseRef('Z100')).to.deep.equal({ col: 25, row: 99 });
    for (const bad of ['A0', 'A101', 'AA1', 'A01', '1A', 'A']) expect(parseRef(bad), bad).to.equal(undefined);
  });
});

describe('spreadsheet state: edits, versions, dependencies', () => {
  let s: SheetState;
  beforeEach(() => (s = emptySheet()));

  it('classifies input: numbers, text, formulas, empty', () => {
    set(s, 'A1', ' 42 ');
    set(s, 'A2', 'hello');
    set(s, 'A3', '=A1/2');
    set(s, 'A4', '=1+');
    expect([shown(s, 'A1'), shown(s, 'A2'), shown(s, 'A3'), shown(s, 'A4')]).to.deep.equal([42, 'hello', 21, '#ERROR!']);
    set(s, 'A1', '');
    expect(shown(s, 'A1')).to.equal(null);
    expect(shown(s, 'A3')).to.equal(0);
  });

  it('versions every cell: a stale base is a conflict that changes nothing', () => {
    const r1 = applyEdit(s, 'B2', '1', 0, 'alice');
    expect(r1).to.include({ status: 'ok', rev: 1 });
    const stale = applyEdit(s, 'B2', '2', 0, 'bob');
    expect(stale.status).to.equal('conflict');
    expect(stale).to.deep.include({ cell: { ref: 'B2', input: '1', version: 1, rev: 1, value: 1, by: 'alice' } });
    expect(s.cells.B2!.input).to.equal('1');
    expect(s.rev).to.equal(1);
    expect(applyEdit(s, 'B2', '2', 1, 'bob')).to.deep.include({ status: 'ok', rev: 2 });
    // A cleared cell keeps counting: an editor who saw the old content cannot overwrite blindly.
    set(s, 'B2', '');
    expect(s.cells.B2).to.include({ input: '', version: 3 });
    expect(applyEdit(s, 'B2', 'x', 2, 'carol').status).to.equal('conflict');
  });

  it('recomputes only the dependents of an edit, in dependency order', () => {
    set(s, 'A1', '1');
    set(s, 'B1', '=A1*10');
    set(s, 'C1', '=B1+A1'); // diamond: A1 → B1 → C1 and A1 → C1
    set(s, 'D1', '=SUM(A1:C1)');
    set(s, 'E1', '=5'); // unrelated
    set(s, 'F1', '=E1+1');
    const e1 = s.cells.E1!.rev;
    const r = set(s, 'A1', '2');
    expect(r.changed.map((c) => c.ref)).to.deep.equal(['A1', 'B1', 'C1', 'D1']);
    expect(r.changed.map((c) => c.value)).to.deep.equal([2, 20, 22, 44]);
    expect(r.changed.every((c) => c.rev === r.rev)).to.equal(true);
    expect(s.cells.E1!.rev).to.equal(e1); // untouched
    expect(shown(s, 'F1')).to.equal(6);
  });

  it('reports only cells whose value changed', () => {
    set(s, 'A1', '1');
    set(s, 'A2', '=MAX(A1, 5)');
    const r = set(s, 'A1', '2');
    expect(r.changed.map((c) => c.ref)).to.deep.equal(['A1']);
  });

  it('a formula over a range follows edits of any cell in it', () => {
    set(s, 'A10', '=SUM(A1:A9)');
    set(s, 'A5', '7');
    expect(shown(s, 'A10')).to.equal(7);
    const r = set(s, 'A9', '3');
    expect(r.changed.map((c) => [c.ref, c.value])).to.deep.equal([
      ['A9', 3],
      ['A10', 10],
    ]);
  });

  it('direct cycles (self and two cells) are #CYCLE!, and recover when broken', () => {
    set(s, 'A1', '=A1+1');
    expect(shown(s, 'A1')).to.equal('#CYCLE!');
    set(s, 'A1', '4');
    expect(shown(s, 'A1')).to.equal(4);
    set(s, 'B1', '=C1');
    expect(shown(s, 'B1')).to.equal(0);
    set(s, 'C1', '=B1+1');
    expect([shown(s, 'B1'), shown(s, 'C1')]).to.deep.equal(['#CYCLE!', '#CYCLE!']);
    set(s, 'C1', '9');
    expect([shown(s, 'B1'), shown(s, 'C1')]).to.deep.equal([9, 9]);
  });

  it('indirect cycles through ranges are #CYCLE!, cells reading them too; breaking the cycle recovers all', () => {
    set(s, 'A1', '1');
    set(s, 'A2', '=A1+1');
    set(s, 'A3', '=A2+1');
    set(s, 'B1', '=A3*2'); // downstream of what will be the cycle
    set(s, 'C1', '=42'); // unrelated
    set(s, 'A1', '=SUM(A2:A3)'); // A1 → A2 → A3 → A1
    expect(['A1', 'A2', 'A3', 'B1'].map((r) => shown(s, r))).to.deep.equal(['#CYCLE!', '#CYCLE!', '#CYCLE!', '#CYCLE!']);
    expect(shown(s, 'C1')).to.equal(42);
    // Breaking it anywhere (here in the middle) recomputes everyone downstream.
    set(s, 'A2', '10');
    expect(['A1', 'A2', 'A3', 'B1'].map((r) => shown(s, r))).to.deep.equal([21, 10, 11, 22]);
  });

  it('bounds inputs and the total work formulas can cause', () => {
    expect(applyEdit(s, 'A1', 'x'.repeat(MAX_INPUT_LENGTH + 1), 0, 't').status).to.equal('limit');
    // Each =SUM(A1:Z100) links 2600 cells; MAX_LINKS stops the sheet from growing past it.
    let i = 0;
    let last;
    while ((last = applyEdit(s, `B${++i}`, '=SUM(A1:Z100)', 0, 't')).status === 'ok');
    expect(last).to.deep.include({ status: 'limit' });
    expect(i - 1).to.equal(Math.floor(MAX_LINKS / 2600));
  });

  it('strips control characters from input', () => {
    set(s, 'A1', 'a\u0000b\nc');
    expect(s.cells.A1!.input).to.equal('abc');
  });

  it('snapshot has inputs, versions and computed values of every touched cell', () => {
    set(s, 'A1', '2', 'alice');
    set(s, 'A2', '=A1*A1', 'bob');
    const snap = snapshot(s);
    expect(snap.rev).to.equal(2);
    expect(snap.cells).to.deep.equal([
      { ref: 'A1', input: '2', version: 1, rev: 1, value: 2, by: 'alice' },
      { ref: 'A2', input: '=A1*A1', version: 1, rev: 2, value: 4, by: 'bob' },
    ]);
  });
});

describe('spreadsheet over WebSocket', () => {
  let t: TestApp;
  /** A guest (own signed cookie from the page, as a browser gets it) named by `?name=`. */
  const open = async (room = 'r1', name = 'tester') => {
    const res = await fetch(t.httpUrl('/examples/spreadsheet'));
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return connect(t.url(`/examples/spreadsheet/socket?room=${room}&name=${name}`), { headers: { cookie } });
  };
  const hello = async (c: TestClient) => (await c.request('', 'hello')).param;

  beforeEach(async () => (t = await startApp()));
  afterEach(closeAll);

  it('an edit reaches every member with the recomputed dependents; a late joiner gets the sheet', async () => {
    const a = await open();
    const b = await open();
    expect((await hello(a)).cells).to.deep.equal([]);
    await hello(b);
    expect((await a.request('', 'edit', { ref: 'B1', input: '21', base: 0 })).cmd).to.equal('reply');
    const reply = await a.request('', 'edit', { ref: 'A1', input: '=B1*2', base: 0 });
    expect(reply.param.cell).to.include({ ref: 'A1', input: '=B1*2', value: 42, version: 1 });
    await b.waitFor((f) => f.cmd === 'cells' && f.param.cells.some((c: { ref: string; value: number }) => c.ref === 'A1' && c.value === 42));
    // b changes the referenced cell: both see the dependent recomputed in one frame.
    await b.request('', 'edit', { ref: 'B1', input: '50', base: 1 });
    for (const c of [a, b]) {
      const f = await c.waitFor((f) => f.cmd === 'cells' && f.param.cells.some((x: { ref: string }) => x.ref === 'B1' && f.param.rev === 3));
      expect(f.param.cells.map((x: { ref: string; value: number }) => [x.ref, x.value])).to.deep.equal([
        ['B1', 50],
        ['A1', 100],
      ]);
    }
    const late = await open();
    const h = await hello(late);
    expect(h).to.include({ rev: 3, cols: 26, rows: 100 });
    expect(h.cells.map((c: { ref: string; input: string; value: number }) => [c.ref, c.input, c.value])).to.have.deep.members([
      ['B1', '50', 50],
      ['A1', '=B1*2', 100],
    ]);
  });

  it('a stale edit gets a conflict error and the current cell; nothing changes', async () => {
    const a = await open('r2', 'alice');
    const b = await open('r2', 'bob');
    await a.request('', 'edit', { ref: 'C3', input: 'first', base: 0 });
    const from = b.frames.length;
    const answer = await b.request('', 'edit', { ref: 'C3', input: 'second', base: 0 });
    expect(answer.cmd).to.equal('error');
    expect(answer.param.code).to.equal('conflict');
    expect(answer.param.message).to.match(/C3 was changed by alice/);
    const current = b.since(from, { cmd: 'cells' });
    expect(current.at(-1)!.param.cells).to.deep.equal([{ ref: 'C3', input: 'first', version: 1, rev: 1, value: 'first', by: 'alice' }]);
    expect((await hello(a)).cells[0]).to.include({ input: 'first' });
  });

  it('concurrent edits of one cell from the same version: exactly one wins, everyone ends with it', async () => {
    const a = await open('r8', 'alice');
    const b = await open('r8', 'bob');
    const [ra, rb] = await Promise.all([
      a.request('', 'edit', { ref: 'A1', input: 'from alice', base: 0 }),
      b.request('', 'edit', { ref: 'A1', input: 'from bob', base: 0 }),
    ]);
    expect([ra.cmd, rb.cmd].sort()).to.deep.equal(['error', 'reply']);
    const loser = ra.cmd === 'error' ? ra : rb;
    expect(loser.param.code).to.equal('conflict');
    const winner = ra.cmd === 'reply' ? 'from alice' : 'from bob';
    for (const c of [a, b]) {
      await c.waitFor((f) => f.cmd === 'cells' && f.param.cells.some((x: { ref: string; input: string }) => x.ref === 'A1' && x.input === winner));
      expect((await hello(c)).cells).to.deep.equal([{ ref: 'A1', input: winner, version: 1, rev: 1, value: winner, by: winner.slice(5) }]);
    }
  });

  it('validates refs and bounds input; sheets of different rooms are separate', async () => {
    const a = await open('r3');
    for (const ref of ['AA1', 'A0', 'A101', 'a1', '']) {
      const f = await a.request('', 'edit', { ref, input: '1', base: 0 });
      expect(f.param.code, ref).to.equal('invalid_param');
    }
    const long = await a.request('', 'edit', { ref: 'A1', input: 'x'.repeat(501), base: 0 });
    expect(long.param.code).to.equal('invalid_param');
    await a.request('', 'edit', { ref: 'A1', input: 'r3 only', base: 0 });
    // Past MAX_LINKS referenced cells, an edit is refused as limit_exceeded and changes nothing.
    const fit = Math.floor(MAX_LINKS / 2600);
    for (let i = 1; i <= fit; i++) expect((await a.request('', 'edit', { ref: `C${i}`, input: '=SUM(A1:Z100)', base: 0 })).cmd).to.equal('reply');
    const over = await a.request('', 'edit', { ref: `C${fit + 1}`, input: '=SUM(A1:Z100)', base: 0 });
    expect(over.param).to.include({ code: 'limit_exceeded' });
    expect((await hello(a)).cells).to.have.length(fit + 1);
    const other = await open('r4');
    expect((await hello(other)).cells).to.deep.equal([]);
  });

  it('focus presence: others see who selected which cell; leaving clears it; late joiners see it', async () => {
    const a = await open('r5', 'alice');
    const b = await open('r5', 'bob');
    await hello(a);
    a.send({ channel: '', cmd: 'focus', param: { ref: 'D4' } });
    const f = await b.waitFor({ cmd: 'focus' });
    expect(f.param).to.include({ name: 'alice', ref: 'D4' });
    expect(f.param.color).to.match(/^#[0-9a-f]{6}$/);
    const c = await open('r5', 'carol');
    const h = await hello(c);
    expect(h.focus).to.have.length(1);
    expect(h.focus[0]).to.include({ name: 'alice', ref: 'D4', key: f.param.key });
    expect(h.you).to.include({ name: 'carol', ref: null });
    await a.close();
    const cleared = await b.waitFor((x) => x.cmd === 'focus' && x.param.ref === null);
    expect(cleared.param.key).to.equal(f.param.key);
    expect((await hello(c)).focus).to.deep.equal([]);
  });

  it('serves the page with the room and name escaped; without WebSockets it says so and loads no script', async () => {
    const page = await (await fetch(t.httpUrl('/examples/spreadsheet?room=team-1&name=%3Cb%3Ex%22'))).text();
    expect(page).to.include('data-room="team-1" data-name="&lt;b&gt;x&quot;"');
    expect(page).to.include('<script type="module" src="/js/pages/sheet.js"></script>');
    const bad = await (await fetch(t.httpUrl('/examples/spreadsheet?room=%3Cx%3E'))).text();
    expect(bad).to.include('data-room="lobby"');
    const off = await startApp({ wsEnabled: false });
    for (const path of ['/examples/spreadsheet', '/examples/monitor']) {
      const res = await fetch(off.httpUrl(path));
      expect(res.status).to.equal(200);
      const body = await res.text();
      expect(body).to.include('WebSockets disabled');
      expect(body).to.not.include('/js/pages/');
    }
  });

  it('refuses a bad room at upgrade, and joins of or edits to another sheet', async () => {
    expect((await refusedUpgrade(t.url('/examples/spreadsheet/socket?room=bad%20room'))).status).to.equal(400);
    const a = await open('r6');
    expect((await a.request('sheet:r7', 'join')).param.code).to.equal('forbidden');
    const f = await a.request('sheet:r7', 'edit', { ref: 'A1', input: 'sneaky', base: 0 });
    expect(f.cmd).to.equal('error');
    const b = await open('r7');
    expect((await hello(b)).cells).to.deep.equal([]);
  });
});
