/**
 * Spreadsheet formulas: a tokenizer, a recursive-descent parser and an evaluator. No eval, no
 * Function: the grammar is small and every input is bounded.
 *
 *   formula := '=' expr
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | primary
 *   primary := number | ref | name '(' [arg (',' arg)*] ')' | '(' expr ')'
 *   arg     := ref ':' ref | expr
 *
 * References are letters + row (A1, c12; case-insensitive). Ranges (A1:B5) are only allowed as
 * function arguments. Functions: SUM, AVG (also AVERAGE), MIN, MAX.
 */

/** The sheet's size: columns A–Z, rows 1–100. */
export const COLS = 26;
export const ROWS = 100;
/** Deepest nesting of parentheses / unary signs a formula may have. */
const MAX_DEPTH = 64;

export type ErrorCode = '#ERROR!' | '#REF!' | '#DIV/0!' | '#CYCLE!' | '#VALUE!' | '#NAME?' | '#NUM!';

/** What a cell (or a sub-expression) evaluates to. `null` is an empty cell. */
export type Value = number | string | null | { error: ErrorCode };

export const isError = (v: Value): v is { error: ErrorCode } => typeof v === 'object' && v !== null;

export type Node =
  | { type: 'num'; value: number }
  | { type: 'ref'; ref: string }
  /** A reference outside the sheet (e.g. AA1, A101): evaluates to #REF!. */
  | { type: 'badref'; text: string }
  | { type: 'range'; from: string; to: string }
  | { type: 'neg'; arg: Node }
  | { type: 'bin'; op: '+' | '-' | '*' | '/'; left: Node; right: Node }
  | { type: 'call'; name: string; args: Node[] };

export class FormulaError extends Error {
  override name = 'FormulaError';
}

// ---------- cell references ----------

/** 'A' → 0, 'Z' → 25. */
const colIndex = (letters: string) => [...letters].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
export const colName = (i: number) => String.fromCharCode(65 + i);
const refName = (col: number, row: number) => `${colName(col)}${row + 1}`;

/** Parses 'B12' to zero-based coordinates; undefined when it is not a reference inside the sheet. */
export function parseRef(ref: string): { col: number; row: number } | undefined {
  const m = /^([A-Z]{1,3})([0-9]{1,7})$/.exec(ref.toUpperCase());
  if (!m) return undefined;
  const col = colIndex(m[1]!);
  const row = Number(m[2]) - 1;
  if (col < 0 || col >= COLS || row < 0 || row >= ROWS || m[2]!.startsWith('0')) return undefined;
  return { col, row };
}

/** A valid in-sheet reference, normalized (upper case). */
export function isRef(ref: string): boolean {
  return parseRef(ref) !== undefined;
}

/** The cells of a range, row by row; the corners may be given in any order. */
export function expandRange(from: string, to: string): string[] {
  const a = parseRef(from)!;
  const b = parseRef(to)!;
  const out: string[] = [];
  for (let r = Math.min(a.row, b.row); r <= Math.max(a.row, b.row); r++) {
    for (let c = Math.min(a.col, b.col); c <= Math.max(a.col, b.col); c++) out.push(refName(c, r));
  }
  return out;
}

/** How many cells a range covers, without listing them. */
export function rangeSize(from: string, to: string): number {
  const a = parseRef(from)!;
  const b = parseRef(to)!;
  return (Math.abs(a.row - b.row) + 1) * (Math.abs(a.col - b.col) + 1);
}

// ---------- tokenizer ----------

type Token =
  | { t: 'num'; v: number; pos: number }
  | { t: 'id'; v: string; pos: number }
  | { t: 'op'; v: '+' | '-' | '*' | '/' | '(' | ')' | ',' | ':'; pos: number }
  | { t: 'end'; pos: number };

const numberRe = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const idRe = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const num = numberRe.exec(rest);
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), pos: i });
      i += num[0].length;
      continue;
    }
    const id = idRe.exec(rest);
    if (id) {
      out.push({ t: 'id', v: id[0].toUpperCase(), pos: i });
      i += id[0].length;
      continue;
    }
    if ('+-*/(),:'.includes(ch)) {
      out.push({ t: 'op', v: ch as '+', pos: i });
      i++;
      continue;
    }
    throw new FormulaError(`unexpected "${ch}" at ${i + 1}`);
  }
  out.push({ t: 'end', pos: i });
  return out;
}

// ---------- parser ----------

const refLike = /^[A-Z]+[0-9]+$/;
export const functions = new Set(['SUM', 'AVG', 'AVERAGE', 'MIN', 'MAX']);

/** Parses a formula's expression (the text after '='); throws FormulaError when it is malformed. */
export function parseFormula(src: string): Node {
  const tokens = tokenize(src);
  let i = 0;
  let depth = 0;
  const peek = () => tokens[i]!;
  const isOp = (v: string) => {
    const tok = peek();
    return tok.t === 'op' && tok.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw new FormulaError(`expected "${v}" at ${peek().pos + 1}`);
    i++;
  };
  const nested = <T>(fn: () => T): T => {
    if (++depth > MAX_DEPTH) throw new FormulaError('formula nested too deeply');
    try {
      return fn();
    } finally {
      depth--;
    }
  };

  const reference = (text: string): Node => (isRef(text) ? { type: 'ref', ref: text } : { type: 'badref', text });

  function expr(): Node {
    let left = term();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[i++] as { v: '+' | '-' }).v;
      left = { type: 'bin', op, left, right: term() };
    }
    return left;
  }
  function term(): Node {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[i++] as { v: '*' | '/' }).v;
      left = { type: 'bin', op, left, right: unary() };
    }
    return left;
  }
  function unary(): Node {
    if (isOp('-')) {
      i++;
      return nested(() => ({ type: 'neg', arg: unary() }));
    }
    if (isOp('+')) {
      i++;
      return nested(unary);
    }
    return primary();
  }
  function primary(): Node {
    const tok = peek();
    if (tok.t === 'num') {
      i++;
      return { type: 'num', value: tok.v };
    }
    if (tok.t === 'op' && tok.v === '(') {
      i++;
      const inner = nested(expr);
      expect(')');
      return inner;
    }
    if (tok.t === 'id') {
      i++;
      if (isOp('(')) {
        i++;
        return nested(() => call(tok.v));
      }
      if (refLike.test(tok.v)) {
        if (isOp(':')) throw new FormulaError(`range ${tok.v}:… is only allowed inside SUM, AVG, MIN or MAX`);
        return reference(tok.v);
      }
      throw new FormulaError(`unknown name "${tok.v}"`);
    }
    if (tok.t === 'end') throw new FormulaError('unexpected end of formula');
    throw new FormulaError(`unexpected "${tok.v}" at ${tok.pos + 1}`);
  }
  function call(name: string): Node {
    const args: Node[] = [];
    if (!isOp(')')) {
      do args.push(arg());
      while (isOp(',') && ++i);
    }
    expect(')');
    return { type: 'call', name, args };
  }
  function arg(): Node {
    const tok = peek();
    const next = tokens[i + 1];
    if (tok.t === 'id' && refLike.test(tok.v) && next?.t === 'op' && next.v === ':') {
      const end = tokens[i + 2];
      if (end?.t !== 'id' || !refLike.test(end.v)) throw new FormulaError(`expected a cell after "${tok.v}:"`);
      i += 3;
      if (!isRef(tok.v)) return { type: 'badref', text: tok.v };
      if (!isRef(end.v)) return { type: 'badref', text: end.v };
      return { type: 'range', from: tok.v, to: end.v };
    }
    return expr();
  }

  const root = expr();
  if (peek().t !== 'end') throw new FormulaError(`unexpected "${src.slice(peek().pos)}" at ${peek().pos + 1}`);
  return root;
}

/** The cells and ranges a formula reads, each once: 'A1' or 'A1:B5'. */
export function dependencies(node: Node): string[] {
  const out = new Set<string>();
  const walk = (n: Node): void => {
    switch (n.type) {
      case 'ref':
        out.add(n.ref);
        break;
      case 'range':
        out.add(`${n.from}:${n.to}`);
        break;
      case 'neg':
        walk(n.arg);
        break;
      case 'bin':
        walk(n.left);
        walk(n.right);
        break;
      case 'call':
        n.args.forEach(walk);
        break;
    }
  };
  walk(node);
  return [...out];
}

// ---------- evaluation ----------

const err = (error: ErrorCode): Value => ({ error });

/** A number for arithmetic: empty is 0, text is #VALUE!, errors pass through. */
function toNumber(v: Value): number | { error: ErrorCode } {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return { error: '#VALUE!' };
  return v;
}

/** A finite number, or #NUM! (overflow) / #DIV/0! (division by zero, handled by the caller). */
const finite = (n: number): Value => (Number.isFinite(n) ? n : err('#NUM!'));

/**
 * Evaluates a parsed formula; `get` returns the current value of another cell. Errors in
 * referenced cells propagate (a formula reading a #CYCLE! cell is #CYCLE! too).
 */
export function evaluate(node: Node, get: (ref: string) => Value): Value {
  switch (node.type) {
    case 'num':
      return node.value;
    case 'ref': {
      const v = get(node.ref);
      return v === null ? 0 : v;
    }
    case 'badref':
      return err('#REF!');
    case 'range':
      return err('#VALUE!');
    case 'neg': {
      const n = toNumber(evaluate(node.arg, get));
      return typeof n === 'number' ? -n : n;
    }
    case 'call':
      return call(node, get);
    case 'bin': {
      const a = toNumber(evaluate(node.left, get));
      if (typeof a !== 'number') return a;
      const b = toNumber(evaluate(node.right, get));
      if (typeof b !== 'number') return b;
      if (node.op === '+') return finite(a + b);
      if (node.op === '-') return finite(a - b);
      if (node.op === '*') return finite(a * b);
      return b === 0 ? err('#DIV/0!') : finite(a / b);
    }
  }
}

function call(node: Extract<Node, { type: 'call' }>, get: (ref: string) => Value): Value {
  if (!functions.has(node.name)) return err('#NAME?');
  // Numbers of the arguments: in ranges and references text and empty cells are skipped
  // (as in other spreadsheets); errors propagate.
  const nums: number[] = [];
  for (const a of node.args) {
    if (a.type === 'range') {
      for (const ref of expandRange(a.from, a.to)) {
        const v = get(ref);
        if (isError(v)) return v;
        if (typeof v === 'number') nums.push(v);
      }
      continue;
    }
    const v = a.type === 'ref' ? get(a.ref) : evaluate(a, get);
    if (isError(v)) return v;
    if (typeof v === 'number') nums.push(v);
  }
  switch (node.name) {
    case 'SUM':
      return finite(nums.reduce((s, n) => s + n, 0));
    case 'AVG':
    case 'AVERAGE':
      return nums.length === 0 ? err('#DIV/0!') : finite(nums.reduce((s, n) => s + n, 0) / nums.length);
    case 'MIN':
      return nums.length === 0 ? 0 : Math.min(...nums);
    default:
      return nums.length === 0 ? 0 : Math.max(...nums);
  }
}
