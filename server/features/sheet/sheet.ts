import { COLS, dependencies, evaluate, expandRange, FormulaError, isError, parseFormula, rangeSize, ROWS, type ErrorCode, type Node, type Value } from './formula';

/**
 * A sheet's state and its edits, pure (no I/O) so it can be unit-tested and kept in any store.
 * The state is plain JSON: each cell's raw input, its version, its computed value and the
 * references its formula reads. The dependency graph is derived from those references.
 */

/** Longest input of one cell (text or formula), in characters. */
export const MAX_INPUT_LENGTH = 500;
/** All cell inputs of one sheet together, in characters: keeps the state (and the hello reply) small. */
const MAX_SHEET_CHARS = 100_000;
/** Cells referenced by all formulas together, a range counting each of its cells: bounds recomputation work. */
export const MAX_LINKS = 50_000;

export interface StoredCell {
  input: string;
  /** How many times this cell's input was set: an edit must name the version it saw. */
  version: number;
  /** The sheet revision at which the input or the value last changed (clients keep the newest). */
  rev: number;
  value: number | string | null;
  error?: ErrorCode;
  /** What the formula reads: 'A1' or 'A1:B5'. Absent for text, numbers and broken formulas. */
  deps?: string[];
  /** Display name of the last editor. */
  by?: string;
}

export interface SheetState {
  /** Bumped by every applied edit. */
  rev: number;
  /** By reference ('B7'). A cleared cell stays as an empty tombstone so its version keeps counting. */
  cells: Record<string, StoredCell>;
}

/** A cell as clients see it. */
export interface CellView {
  ref: string;
  input: string;
  version: number;
  rev: number;
  value: number | string | null;
  error?: ErrorCode;
  by?: string;
}

export type EditResult =
  | { status: 'ok'; rev: number; cell: CellView; changed: CellView[] }
  | { status: 'conflict'; rev: number; cell: CellView }
  | { status: 'limit'; message: string };

export const emptySheet = (): SheetState => ({ rev: 0, cells: {} });

export function view(ref: string, c: StoredCell | undefined): CellView {
  if (!c) return { ref, input: '', version: 0, rev: 0, value: null };
  const v: CellView = { ref, input: c.input, version: c.version, rev: c.rev, value: c.value };
  if (c.error) v.error = c.error;
  if (c.by) v.by = c.by;
  return v;
}

/** Everything a late joiner needs: inputs, versions and computed values of every touched cell. */
export function snapshot(state: SheetState): { rev: number; cells: CellView[] } {
  return { rev: state.rev, cells: Object.entries(state.cells).map(([ref, c]) => view(ref, c)) };
}

/** Control characters are dropped: a cell is one line of text. */
function normalizeInput(input: string): string {
  return input.replace(/\p{Cc}/gu, '');
}

const numberInput = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

type Parsed = { kind: 'empty' } | { kind: 'number'; value: number } | { kind: 'text' } | { kind: 'formula'; ast: Node } | { kind: 'bad' };

/** What an input is: empty, a number, text, a formula ('=…') or a formula that does not parse. */
function classify(input: string): Parsed {
  const t = input.trim();
  if (t === '') return { kind: 'empty' };
  if (t.startsWith('=')) {
    try {
      return { kind: 'formula', ast: parseFormula(t.slice(1)) };
    } catch (e) {
      if (e instanceof FormulaError) return { kind: 'bad' };
      throw e;
    }
  }
  if (numberInput.test(t) && Number.isFinite(Number(t))) return { kind: 'number', value: Number(t) };
  return { kind: 'text' };
}

const links = (deps: readonly string[] | undefined) =>
  (deps ?? []).reduce((n, d) => {
    const [from, to] = d.split(':');
    return n + (to ? rangeSize(from!, to) : 1);
  }, 0);

/** Every cell a dependency names, ranges expanded. */
const cellsOf = (deps: readonly string[] | undefined) => (deps ?? []).flatMap((d) => (d.includes(':') ? expandRange(...(d.split(':') as [string, string])) : [d]));

/**
 * Applies one edit: `base` is the cell version the editor saw. A stale base is a conflict and
 * changes nothing (first writer wins, per cell); otherwise the cell is set and every cell that
 * depends on it, directly or not, is recomputed once, in dependency order. Mutates `state`.
 */
export function applyEdit(state: SheetState, ref: string, rawInput: string, base: number, by: string): EditResult {
  const input = normalizeInput(rawInput);
  const cur = state.cells[ref];
  if ((cur?.version ?? 0) !== base) return { status: 'conflict', rev: state.rev, cell: view(ref, cur) };
  if (input.length > MAX_INPUT_LENGTH) return { status: 'limit', message: `a cell holds at most ${MAX_INPUT_LENGTH} characters` };
  if (input === (cur?.input ?? '')) return { status: 'ok', rev: state.rev, cell: view(ref, cur), changed: [] };

  const parsed = classify(input);
  const deps = parsed.kind === 'formula' ? dependencies(parsed.ast) : undefined;
  let chars = input.length;
  let linked = links(deps);
  for (const [r, c] of Object.entries(state.cells)) {
    if (r === ref) continue;
    chars += c.input.length;
    linked += links(c.deps);
  }
  if (chars > MAX_SHEET_CHARS) return { status: 'limit', message: `a sheet holds at most ${MAX_SHEET_CHARS} characters of input` };
  if (linked > MAX_LINKS) return { status: 'limit', message: `formulas may reference at most ${MAX_LINKS} cells in all (ranges count each cell)` };

  const rev = state.rev + 1;
  state.rev = rev;
  const cell: StoredCell = { input, version: (cur?.version ?? 0) + 1, rev, value: null, by };
  if (deps) cell.deps = deps;
  state.cells[ref] = cell;
  const changed = recompute(state, ref, rev, parsed);
  return { status: 'ok', rev, cell: view(ref, cell), changed: changed.map((r) => view(r, state.cells[r])) };
}

/** The cells whose formulas read each cell: the dependency graph, reversed. */
export function dependents(state: SheetState): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const [ref, c] of Object.entries(state.cells)) {
    for (const d of cellsOf(c.deps)) {
      let set = index.get(d);
      if (!set) index.set(d, (set = new Set()));
      set.add(ref);
    }
  }
  return index;
}

/**
 * Recomputes `root` and everything downstream of it, each cell once, in topological order
 * (Kahn's algorithm over the affected cells). Whatever cannot be ordered sits on a cycle or
 * reads one: it becomes #CYCLE!. Returns the cells whose value changed, `root` first.
 */
function recompute(state: SheetState, root: string, rev: number, rootParsed?: Parsed): string[] {
  const index = dependents(state);
  const affected = new Set<string>([root]);
  const stack = [root];
  while (stack.length) {
    for (const d of index.get(stack.pop()!) ?? []) {
      if (!affected.has(d)) {
        affected.add(d);
        stack.push(d);
      }
    }
  }
  // In-degree within the affected set; edges run from a cell to the formulas that read it.
  const indegree = new Map<string, number>();
  for (const ref of affected) {
    const reads = new Set(cellsOf(state.cells[ref]?.deps));
    indegree.set(ref, [...reads].filter((d) => affected.has(d)).length);
  }
  const order = [...affected].filter((r) => indegree.get(r) === 0);
  for (let i = 0; i < order.length; i++) {
    const ref = order[i]!;
    for (const d of index.get(ref) ?? []) {
      if (!affected.has(d)) continue;
      const n = indegree.get(d)! - 1;
      indegree.set(d, n);
      if (n === 0) order.push(d);
    }
  }
  const get = (r: string): Value => {
    const c = state.cells[r];
    if (!c) return null;
    return c.error ? { error: c.error } : c.value;
  };
  const changed: string[] = [root];
  const set = (ref: string, v: Value) => {
    const c = state.cells[ref]!;
    const before = c.error ?? c.value;
    if (isError(v)) {
      c.value = null;
      c.error = v.error;
    } else {
      c.value = v;
      delete c.error;
    }
    if (ref !== root && before !== (c.error ?? c.value)) {
      c.rev = rev;
      changed.push(ref);
    }
  };
  for (const ref of order) {
    const c = state.cells[ref]!;
    const parsed = ref === root && rootParsed ? rootParsed : classify(c.input);
    set(ref, valueOf(parsed, c.input, get));
  }
  const ordered = new Set(order);
  for (const ref of affected) if (!ordered.has(ref)) set(ref, { error: '#CYCLE!' });
  return changed;
}

function valueOf(parsed: Parsed, input: string, get: (ref: string) => Value): Value {
  switch (parsed.kind) {
    case 'empty':
      return null;
    case 'number':
      return parsed.value;
    case 'text':
      return input;
    case 'bad':
      return { error: '#ERROR!' };
    case 'formula':
      return evaluate(parsed.ast, get);
  }
}

export { COLS, ROWS };
