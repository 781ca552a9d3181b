import { z } from 'zod';

/**
 * Base Framework's six pages (static/*.html in base-go/base-core) as wsforge serves them: which
 * page a Base connection is, what each page sends, what it reads, and the checks and bounds of
 * every frame type. Pure: no I/O, no server imports.
 *
 * | page | connects with | sends | reads |
 * |---|---|---|---|
 * | chat.html | nothing (room `general`) | `chat` | every frame: prints `content` as a line |
 * | draw.html | `id=drawer_…&room=drawing&nickname=` | `draw`, `cursor_move`, `clear` | `draw`, `clear`, `users_update`, `cursor_move` |
 * | kanban.html | `id=kanban_…&room=kanban&nickname=` | `request_tasks`, `add_task`, `delete_task`, `move_task` | `tasks_update`, `users_update`, `task_moved`, `add_task`, `delete_task` |
 * | editor.html | `id=editor_…&room=code_editor&nickname=` | `code_update` (a string), `cursor_update` | `code_update`, `users_update`, `cursor_update` (`selection_update` too, but its handler does not exist) |
 * | monitor.html | `id=monitor_…&room=system_monitor` | `system_metrics` (random numbers, every second) | `system_metrics` |
 * | spreadsheet.html | `id=sheet_…&room=spreadsheet&nickname=` | `request_data`, `cell_update`, `cursor_update` | `cell_update`, `users_update`, `cursor_update`, `full_update` |
 */

/** Which Base client a connection is: one of the six pages, or any other client of Base's protocol (`generic`). */
export type BasePage = 'chat' | 'draw' | 'kanban' | 'editor' | 'monitor' | 'sheet' | 'generic';
export const basePages: readonly BasePage[] = ['chat', 'draw', 'kanban', 'editor', 'monitor', 'sheet', 'generic'];

/** The `id` prefix each Base page gives itself (`'drawer_' + random`…). */
const idPrefixes: ReadonlyArray<readonly [string, BasePage]> = [
  ['drawer_', 'draw'],
  ['kanban_', 'kanban'],
  ['editor_', 'editor'],
  ['monitor_', 'monitor'],
  ['sheet_', 'sheet'],
];

/**
 * The page a Base connection comes from, by its URL: the pages name themselves with an `id`
 * prefix; chat.html (like any chat client of Base's docs without an `id`) sends no `id`; any
 * other `id` is another client of Base's protocol. Only decides what the connection is sent,
 * never who it is.
 */
export function basePageOf(url: URL): BasePage {
  const id = url.searchParams.get('id');
  if (!id) return 'chat';
  for (const [prefix, page] of idPrefixes) if (id.startsWith(prefix)) return page;
  return 'generic';
}

/**
 * Whether a Base page's room is a chat room: chat.html's and a generic client's (which reads the
 * chat too) are, created and listed like the chat page's; the other pages' rooms are not (their
 * own bounded list, base-rooms.ts: MAX_BASE_ROOMS).
 */
export function opensChatRoom(page: BasePage): boolean {
  return page === 'chat' || page === 'generic';
}

/**
 * Most rooms of Base's non-chat pages (draw, kanban, editor, monitor, spreadsheet) at once. At the
 * limit a new one recycles the oldest empty one (its `base:<room>:*` state deleted); when every
 * one is in use the next is refused with HTTP 409 before the upgrade, so no state of it is made.
 */
export const MAX_BASE_ROOMS = 50;

/** A Base `type`: a letter, then up to 63 letters, digits, `_` or `-`. */
export const BASE_TYPE = /^[A-Za-z][\w-]{0,63}$/;

/** Types chat.html prints sensibly (its `content` is text, or `users_update`'s list of names). */
const chatReads = new Set(['message', 'system', 'users_update', 'private', 'nickname', 'error']);

/** The types each of the other pages reads (its `onmessage`), and nothing else is sent to it. */
const pageReads: Readonly<Record<'draw' | 'kanban' | 'editor' | 'monitor' | 'sheet', ReadonlySet<string>>> = {
  draw: new Set(['draw', 'clear', 'cursor_move', 'users_update']),
  kanban: new Set(['tasks_update', 'users_update', 'task_moved', 'add_task', 'delete_task']),
  editor: new Set(['code_update', 'users_update', 'cursor_update']),
  monitor: new Set(['system_metrics']),
  sheet: new Set(['cell_update', 'users_update', 'cursor_update', 'full_update']),
};

/** Every type a Base page or wsforge's Base dialect gives a meaning; anything else is relayed as it is (within bounds). */
const knownTypes: ReadonlySet<string> = new Set([
  ...chatReads,
  'chat',
  'typing',
  'rooms',
  'create_room',
  ...Object.values(pageReads).flatMap((s) => [...s]),
  'move_task',
  'request_tasks',
  'request_data',
  'selection_update',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a Base frame is sent to a connection of `page`: what that page reads, in the shape its
 * code reads it; for chat.html only frames it prints as text (never typing, room lists, or other
 * pages' objects); everything for a generic client (as Base's hub does).
 */
export function pageTakes(page: BasePage, type: string, content: unknown): boolean {
  switch (page) {
    case 'generic':
      return true;
    case 'chat':
      return chatReads.has(type) || (!knownTypes.has(type) && typeof content === 'string');
    case 'draw':
      if (type === 'cursor_move') return isObject(content) && typeof content.toX === 'number' && typeof content.toY === 'number';
      return pageReads.draw.has(type);
    case 'editor':
      if (type === 'cursor_update') return isObject(content) && typeof content.cursor === 'number';
      if (type === 'code_update') return typeof content === 'string';
      return pageReads.editor.has(type);
    case 'sheet':
      if (type === 'cursor_update') return isObject(content) && typeof content.cellId === 'string';
      return pageReads.sheet.has(type);
    default:
      return pageReads[page].has(type);
  }
}

// ---- limits --------------------------------------------------------------------------------

export const baseLimits = {
  /** Content of a type wsforge does not know (relayed as it is), as JSON. */
  maxRelayBytes: 8 * 1024,
  /** editor.html's whole text. */
  maxCodeLength: 50_000,
  /** Cards on a Base kanban board; a card's title and description. */
  maxTasks: 200,
  maxTitleLength: 200,
  maxDescriptionLength: 2000,
  /** Cells of a Base sheet (rows and columns below 1000), one cell's value, and all of them together. */
  maxCells: 2000,
  maxCellLength: 1000,
  maxSheetChars: 100_000,
  /** Cursor frames (`cursor_move`, `cursor_update`) from one connection closer than this are dropped: 25 a second at most. */
  cursorIntervalMs: 40,
  /** A Base drawer's stroke is committed to the whiteboard after this long without a line. */
  strokeIdleMs: 1000,
  /** Lines of a whiteboard replayed to a joining draw.html at most (the newest ones, ~130 bytes each). */
  maxReplayLines: 3000,
  /** Samples replayed to a joining monitor.html: its charts show the last 20. */
  monitorReplay: 20,
  /**
   * The Base routes' inbound frame budget is this many times the service's (WS_RATE_LIMIT_*):
   * draw.html sends a `cursor_move` and a `draw` on every mouse move, about 120 frames a second
   * while drawing at 60 Hz.
   */
  rateFactor: 3,
} as const;

// ---- what each type's content must be ------------------------------------------------------

/** A Base page coordinate (canvas pixels, or a text index). */
const coordinate = z.number().finite().min(-10_000).max(10_000);
/** draw.html's `<input type=color>`: #rrggbb. */
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colour must be #rrggbb');
/** editor.html and spreadsheet.html: '#' + a random number in hex (1-6 digits). */
const cursorColor = z.string().regex(/^#[0-9a-fA-F]{1,8}$/, 'colour must be # and 1-8 hex digits');
/** draw.html's `<input type=range>` value: a string ("5"); a number is taken too. */
const penSize = z.union([z.string().regex(/^\d{1,3}(\.\d{1,3})?$/, 'size must be a number'), z.number().finite()]).refine((v) => Number(v) >= 0 && Number(v) <= 200, 'size must be 0-200');
const taskId = z.string().regex(/^[\w-]{1,64}$/, 'id: 1-64 letters, digits, _ or -');
export const kanbanColumns = ['todo', 'in-progress', 'done'] as const;
const column = z.enum(kanbanColumns);
const cellId = z.string().regex(/^\d{1,3}-\d{1,3}$/, 'cell id: "<row>-<col>", each 0-999');
const index = z.number().int().min(0).max(999);

/** The content each known type must have, as the pages send it; unknown fields are dropped. */
export const baseContent = {
  /** draw.html, drawing: one line. Its `nickname` field is set by the server. */
  draw: z.object({ fromX: coordinate, fromY: coordinate, toX: coordinate, toY: coordinate, color: hexColor.optional(), size: penSize.optional() }),
  /** draw.html's pointer (`toX`, `toY`, `color`); Base's docs show `{x, y}`, kept too. */
  cursor_move: z
    .object({ toX: coordinate.optional(), toY: coordinate.optional(), x: coordinate.optional(), y: coordinate.optional(), color: hexColor.optional() })
    .refine((c) => (c.toX !== undefined && c.toY !== undefined) || (c.x !== undefined && c.y !== undefined), 'cursor needs toX and toY (or x and y)'),
  /** editor.html's caret (`cursor`: an index in the text) or spreadsheet.html's selected cell (`cellId`). */
  cursor_update: z
    .object({ cursor: z.number().int().min(0).max(10_000_000).optional(), cellId: cellId.optional(), color: cursorColor.optional() })
    .refine((c) => c.cursor !== undefined || c.cellId !== undefined, 'cursor_update needs cursor or cellId'),
  /** editor.html: the whole text. Base's docs show `{code, language}`: its `code` is taken. */
  code_update: z.union([
    z.string().max(baseLimits.maxCodeLength),
    z.object({ code: z.string().max(baseLimits.maxCodeLength), language: z.string().max(32).optional() }).transform((c) => c.code),
  ]),
  /** kanban.html's new card. `assignee` is set by the server (the page fills in its own nickname). */
  add_task: z.object({
    id: taskId,
    title: z.string().trim().min(1, 'title must not be empty').max(baseLimits.maxTitleLength),
    description: z.string().trim().max(baseLimits.maxDescriptionLength).default(''),
    column,
  }),
  delete_task: z.object({ id: taskId }),
  /** kanban.html drops a card on a column (`move_task`); it listens for `task_moved`, which is taken too. */
  move_task: z.object({ taskId, newColumn: column }),
  /** spreadsheet.html, typing in a cell: `id` is `"<row>-<col>"`. */
  cell_update: z
    .object({ id: cellId, value: z.union([z.string(), z.number().finite().transform(String)]).pipe(z.string().max(baseLimits.maxCellLength)), row: index, col: index })
    .refine((c) => c.id === `${c.row}-${c.col}`, 'id must be "<row>-<col>"'),
} as const;

export type BaseTask = z.output<typeof baseContent.add_task> & { assignee: string };
export type BaseCell = z.output<typeof baseContent.cell_update>;

/** Types only the server sends: a client sending one is refused. */
export const serverOnlyTypes: ReadonlySet<string> = new Set(['users_update', 'system', 'rooms', 'error', 'tasks_update', 'full_update']);
