import { z } from 'zod';
import { defineProtocol } from '../../socket';
import { isRef } from './formula';
import { MAX_INPUT_LENGTH, type CellView } from './sheet';

const ref = z
  .string()
  .regex(/^[A-Z][1-9][0-9]{0,2}$/, 'ref: a cell such as B7')
  .refine(isRef, 'ref: outside the sheet (A1…Z100)');

/** Who has which cell selected: one entry per connection (a user may have several tabs). */
export interface Focus {
  /** Identifies the connection's presence (not its connection id). */
  key: string;
  userId: string;
  name: string;
  color: string;
  /** The selected cell; null when the user left the sheet or blurred it. */
  ref: string | null;
}

/**
 * The collaborative spreadsheet. Edits are compare-and-set per cell: an edit names the cell
 * version it saw (`base`); a stale one is refused with a `conflict` error and the current cell
 * is sent back. Applied edits come back to everyone as `cells` (the edited cell plus every
 * formula whose value changed). `hello`, sent on every (re)connect, returns the whole sheet.
 */
export const sheet = defineProtocol({
  client: {
    hello: z.object({}),
    edit: z.object({
      ref,
      input: z.string().max(MAX_INPUT_LENGTH, `input: at most ${MAX_INPUT_LENGTH} characters`),
      base: z.number().int().min(0),
    }),
    focus: z.object({ ref: ref.nullable() }),
  },
  server: {
    cells: z.custom<{ rev: number; cells: CellView[] }>(),
    focus: z.custom<Focus>(),
  },
  replies: {
    /** `generation`: the store's (server/store/generation.ts); another one than before means the server lost its state. */
    hello: z.custom<{ rev: number; cols: number; rows: number; cells: CellView[]; focus: Focus[]; you: Focus; maxInput: number; generation: string }>(),
    edit: z.custom<{ rev: number; cell: CellView }>(),
  },
});
export type SheetProtocol = typeof sheet;
export type { CellView } from './sheet';
