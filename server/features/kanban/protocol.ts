import { z } from 'zod';
import { defineProtocol } from '../../socket';
import { kanbanLimits as L } from './board';

const cardId = z.string().regex(/^c\d{1,9}$/, 'card: an id like c12');
const columnId = z.string().regex(/^[\w-]{1,32}$/, 'column: 1-32 letters, digits, _ or -');
/** Text is cleaned and bounded again by the board rules (board.ts); this only keeps frames small. */
const text = z.string().max(L.maxTextLength * 2);
const version = z.number().int().min(1);
/** Position: before this card of the target column; null or missing means at the end. */
const before = cardId.nullable().optional();

const card = z.object({ id: z.string(), text: z.string(), version: z.number(), createdBy: z.string(), updatedBy: z.string(), updatedAt: z.number() });
const trashed = z.object({ card, column: z.string(), index: z.number(), by: z.string(), at: z.number() });
const board = z.object({
  version: z.number(),
  nextId: z.number(),
  columns: z.array(z.object({ id: z.string(), title: z.string(), cards: z.array(z.string()) })),
  cards: z.record(z.string(), card),
  trash: z.array(trashed).optional(),
});
const op = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add'), card, column: z.string(), index: z.number() }),
  z.object({ type: z.literal('edit'), card }),
  z.object({ type: z.literal('move'), card: z.string(), column: z.string(), index: z.number() }),
  z.object({ type: z.literal('delete'), card: z.string(), by: z.string(), at: z.number() }),
  z.object({ type: z.literal('restore'), card, column: z.string(), index: z.number() }),
]);

/**
 * The kanban board. Every change is a request; the server applies it to the stored board and
 * broadcasts the resulting `op` with the board's new version to everyone, the sender included.
 * Edits and deletes carry the card `version` the client saw: stale ones get a `conflict` error.
 * A deleted card can be restored (undo) for `limits.undoMs`, as it was and where it was.
 */
export const kanban = defineProtocol({
  client: {
    /** The board for a (re)connecting page, and who is here. */
    sync: z.object({}),
    add: z.object({ column: columnId, text, before }),
    edit: z.object({ card: cardId, text, version }),
    move: z.object({ card: cardId, column: columnId, before }),
    delete: z.object({ card: cardId, version }),
    /** Undo of a delete: the card back with its text and place; `not_found` once `undoMs` has passed. */
    restore: z.object({ card: cardId }),
  },
  server: {
    /** An applied change; `version` is the board's version after it. */
    op: z.object({ version: z.number(), by: z.string(), op }),
  },
  replies: {
    /** `generation`: the store's (server/store/generation.ts); another one than before means the server lost its state. */
    sync: z.object({ generation: z.string(), board, users: z.array(z.object({ id: z.string(), name: z.string() })), me: z.object({ id: z.string(), name: z.string() }), limits: z.object({ maxCards: z.number(), maxTextLength: z.number(), undoMs: z.number() }) }),
    /** The board's version after the command (unchanged when it changed nothing). */
    add: z.object({ version: z.number(), card: z.string() }),
    edit: z.object({ version: z.number() }),
    move: z.object({ version: z.number() }),
    delete: z.object({ version: z.number() }),
    restore: z.object({ version: z.number() }),
  },
});
export type KanbanProtocol = typeof kanban;
