/**
 * The kanban board and its rules: pure functions, no I/O and no zod, shared by the server (which
 * decides) and the page (which replays what was decided).
 *
 * Every change is a command that the server resolves against the current board into an op,
 * then applies with `applyOp`. Pages apply the same ops, in the server's order, with the same
 * `applyOp`, so every page holds exactly the server's board at every version.
 *
 * Conflicts:
 * - moves are positional ("card X into column C before card Y", or at the end) and never
 *   conflict: the server orders concurrent moves and the last one wins; a `before` card that is
 *   no longer in that column (moved or deleted meanwhile) means the end of the column;
 * - edits and deletes carry the card version the client saw and are refused with `conflict` if
 *   the card's text changed since (nobody overwrites or deletes text they have not seen);
 * - anything about a card that no longer exists is refused with `not_found`;
 * - a deleted card can be restored (undo) for `undoMs`: with its text, version and authors, in its
 *   column at the place it had (or the end, if the column is shorter now).
 * A card's version counts changes of its text; the board's version counts every applied op.
 */

export const kanbanLimits = {
  /** Cards on one board, all columns together. */
  maxCards: 200,
  /** Characters of a card's text (after trimming). */
  maxTextLength: 500,
  /** How long after a delete the card can be restored (the page's Undo), in ms. */
  undoMs: 10_000,
};

/**
 * Deleted cards a board keeps for undo, the newest: part of the rules pages replay (applyOp),
 * so a fixed number rather than an option; `undoMs` decides which of them may come back.
 */
export const TRASH_SIZE = 20;

const defaultColumns: ReadonlyArray<{ id: string; title: string }> = [
  { id: 'todo', title: 'To do' },
  { id: 'doing', title: 'Doing' },
  { id: 'done', title: 'Done' },
];

export interface Card {
  id: string;
  text: string;
  /** 1 when added, +1 for every edit of the text. */
  version: number;
  createdBy: string;
  updatedBy: string;
  updatedAt: number;
}

export interface Column {
  id: string;
  title: string;
  /** Card ids, top to bottom. */
  cards: string[];
}

/** A deleted card as undo needs it: where it was, who deleted it and when. */
export interface Trashed {
  card: Card;
  column: string;
  index: number;
  by: string;
  at: number;
}

export interface Board {
  /** +1 for every applied op. */
  version: number;
  /** Next card number: ids are `c1`, `c2`, … in the order the server added them. */
  nextId: number;
  columns: Column[];
  cards: Record<string, Card>;
  /** The last TRASH_SIZE deleted cards, oldest first (absent from boards stored before undo existed). */
  trash?: Trashed[];
}

export type Command =
  | { type: 'add'; column: string; text: string; before?: string | null }
  | { type: 'edit'; card: string; text: string; version: number }
  | { type: 'move'; card: string; column: string; before?: string | null }
  | { type: 'delete'; card: string; version: number }
  | { type: 'restore'; card: string };

/** What the server decided: everything a page needs to apply it, positions already resolved. */
export type Op =
  | { type: 'add'; card: Card; column: string; index: number }
  | { type: 'edit'; card: Card }
  | { type: 'move'; card: string; column: string; index: number }
  | { type: 'delete'; card: string; by: string; at: number }
  | { type: 'restore'; card: Card; column: string; index: number };

export type BoardErrorCode = 'conflict' | 'not_found' | 'limit_exceeded' | 'invalid_param';

export class BoardError extends Error {
  constructor(
    readonly code: BoardErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BoardError';
  }
}

export function newBoard(columns = defaultColumns): Board {
  return { version: 0, nextId: 1, columns: columns.map((c) => ({ id: c.id, title: c.title, cards: [] })), cards: {}, trash: [] };
}

/** Card text as stored: control characters other than newline and tab removed, trimmed. */
export function cleanText(text: string): string {
  return text.replace(/[^\P{Cc}\n\t]/gu, '').trim();
}

/** The column a card is in, if the card exists. */
export function columnOf(board: Board, cardId: string): Column | undefined {
  return board.columns.find((c) => c.cards.includes(cardId));
}

/**
 * Decides a command against the board: checks it, allocates ids, resolves positions.
 * Returns the op to apply, undefined when the command changes nothing, or throws BoardError.
 */
export function resolve(board: Board, cmd: Command, actor: string, now: number, limits = kanbanLimits): Op | undefined {
  const column = (id: string) => {
    const c = board.columns.find((col) => col.id === id);
    if (!c) throw new BoardError('not_found', `there is no column "${id}"`);
    return c;
  };
  const hasRoom = () => {
    if (Object.keys(board.cards).length >= limits.maxCards) {
      throw new BoardError('limit_exceeded', `a board has at most ${limits.maxCards} cards: delete some first`);
    }
  };
  const card = (id: string) => {
    const c = Object.hasOwn(board.cards, id) ? board.cards[id] : undefined;
    if (!c) throw new BoardError('not_found', `card ${id} no longer exists`);
    return c;
  };
  const text = (raw: string) => {
    const t = cleanText(raw);
    if (t.length === 0) throw new BoardError('invalid_param', 'a card needs some text');
    if (t.length > limits.maxTextLength) throw new BoardError('invalid_param', `a card has at most ${limits.maxTextLength} characters`);
    return t;
  };
  const fresh = (c: Card, seen: number, what: string) => {
    if (c.version !== seen) {
      throw new BoardError('conflict', `${c.updatedBy} changed card ${c.id} since you saw it (version ${seen}, now ${c.version}): your ${what} was not applied`);
    }
  };
  /** Index in `col` (without `moving`) of `before`, or the end when it is not there. */
  const position = (col: Column, before: string | null | undefined, moving?: string) => {
    const rest = col.cards.filter((id) => id !== moving);
    const i = before ? rest.indexOf(before) : -1;
    return i < 0 ? rest.length : i;
  };

  switch (cmd.type) {
    case 'add': {
      const col = column(cmd.column);
      hasRoom();
      const c: Card = { id: `c${board.nextId}`, text: text(cmd.text), version: 1, createdBy: actor, updatedBy: actor, updatedAt: now };
      return { type: 'add', card: c, column: col.id, index: position(col, cmd.before) };
    }
    case 'edit': {
      const c = card(cmd.card);
      fresh(c, cmd.version, 'edit');
      const t = text(cmd.text);
      if (t === c.text) return undefined;
      return { type: 'edit', card: { ...c, text: t, version: c.version + 1, updatedBy: actor, updatedAt: now } };
    }
    case 'move': {
      card(cmd.card);
      const to = column(cmd.column);
      const from = columnOf(board, cmd.card)!;
      if (cmd.before === cmd.card) return undefined; // "before itself": where it is
      const index = position(to, cmd.before, cmd.card);
      if (from === to && from.cards.indexOf(cmd.card) === index) return undefined;
      return { type: 'move', card: cmd.card, column: to.id, index };
    }
    case 'delete': {
      fresh(card(cmd.card), cmd.version, 'delete');
      return { type: 'delete', card: cmd.card, by: actor, at: now };
    }
    case 'restore': {
      if (Object.hasOwn(board.cards, cmd.card)) throw new BoardError('conflict', `card ${cmd.card} is on the board already`);
      const gone = board.trash?.findLast((t) => t.card.id === cmd.card);
      if (!gone || gone.at <= now - limits.undoMs) throw new BoardError('not_found', `card ${cmd.card} can no longer be restored`);
      hasRoom();
      const col = column(gone.column);
      return { type: 'restore', card: gone.card, column: col.id, index: Math.min(gone.index, col.cards.length) };
    }
  }
}

/** Applies a decided op: the board's next version. Pages and server run this same code. */
export function applyOp(board: Board, op: Op): Board {
  const columns = board.columns.map((c) => ({ ...c, cards: c.cards.slice() }));
  const cards = { ...board.cards };
  let trash = board.trash ?? [];
  const remove = (id: string) => {
    for (const c of columns) {
      const i = c.cards.indexOf(id);
      if (i >= 0) c.cards.splice(i, 1);
    }
  };
  const insert = (columnId: string, index: number, id: string) => {
    const col = columns.find((c) => c.id === columnId);
    if (col) col.cards.splice(Math.min(index, col.cards.length), 0, id);
  };
  let nextId = board.nextId;
  switch (op.type) {
    case 'add':
      cards[op.card.id] = op.card;
      insert(op.column, op.index, op.card.id);
      nextId = Math.max(nextId, Number(op.card.id.slice(1)) + 1);
      break;
    case 'edit':
      cards[op.card.id] = op.card;
      break;
    case 'move':
      remove(op.card);
      insert(op.column, op.index, op.card);
      break;
    case 'delete': {
      const col = columnOf(board, op.card);
      const card = cards[op.card];
      if (col && card) trash = [...trash, { card, column: col.id, index: col.cards.indexOf(op.card), by: op.by, at: op.at }].slice(-TRASH_SIZE);
      remove(op.card);
      delete cards[op.card];
      break;
    }
    case 'restore':
      cards[op.card.id] = op.card;
      insert(op.column, op.index, op.card.id);
      trash = trash.filter((t) => t.card.id !== op.card.id);
      break;
  }
  return { version: board.version + 1, nextId, columns, cards, trash };
}

/** Resolve and apply in one step (what the server does inside its read-modify-write). */
export function execute(board: Board, cmd: Command, actor: string, now: number, limits = kanbanLimits): { board: Board; op?: Op } {
  const op = resolve(board, cmd, actor, now, limits);
  return op ? { board: applyOp(board, op), op } : { board };
}
