import { createHash } from 'node:crypto';
import { defineHandler, ErrorCode, type Handler, type Session, SocketError } from '../../socket';
import { stateGeneration } from '../../store/generation';
import type { StateStore } from '../../store/store';
import { COLS, ROWS } from './formula';
import { sheet, type Focus } from './protocol';
import { applyEdit, emptySheet, MAX_INPUT_LENGTH, snapshot, type EditResult, type SheetState } from './sheet';

/** A focus entry older than this is not shown to late joiners (left behind by a node that died). */
const FOCUS_TTL_MS = 30 * 60_000;

const colors = ['#e8590c', '#1c7ed6', '#2b8a3e', '#ae3ec9', '#c92a2a', '#0b7285', '#e67700', '#5f3dc4', '#d6336c', '#0ca678'];

const hash = (s: string) => createHash('sha256').update(s).digest();
/** Every tab of a user gets the same colour; every viewer computes the same one. */
const colorOf = (userId: string) => colors[hash(userId)[0]! % colors.length]!;
/** A presence key that does not reveal the connection id. */
const keyOf = (conn: Session) => hash(`focus:${conn.id}`).toString('base64url').slice(0, 12);

/** Store keys: the route channel is `sheet:<room>`, which is also the sheet's key. */
const sheetKey = (channel: string) => channel;
const focusKey = (channel: string) => `${channel}:focus`;
/** Whether a store key is a sheet's selections: presence, not data (the durable store keeps it in memory only). */
export const isFocusKey = (key: string) => /^sheet:[\w-]+:focus$/.test(key);

type FocusEntries = Record<string, Focus & { at: number }>;

function focusOf(conn: Session, ref: string | null): Focus {
  return { key: keyOf(conn), userId: conn.profile.id, name: conn.profile.name, color: colorOf(conn.profile.id), ref };
}

/**
 * The spreadsheet's socket handler. The sheet (inputs, versions, values) and who is focused
 * where live in the store under `sheet:<room>` and `sheet:<room>:focus`: every edit is one
 * store.update, so concurrent edits of one sheet are serialized wherever they come from.
 */
export function createSheetHandler(store: StateStore): Handler {
  /** Records a focus change; false when there was nothing to clear. */
  const setFocus = async (channel: string, f: Focus) => {
    let changed = false;
    // Decided inside the update: a store may run it again when another writer got in first.
    await store.update<FocusEntries>(focusKey(channel), (cur = {}) => {
      changed = f.ref !== null || f.key in cur;
      const now = Date.now();
      if (f.ref !== null) cur[f.key] = { ...f, at: now };
      else delete cur[f.key];
      // Entries a dead node could not clear go away after FOCUS_TTL_MS.
      for (const [k, e] of Object.entries(cur)) if (e.at <= now - FOCUS_TTL_MS) delete cur[k];
      return cur;
    });
    return changed;
  };

  return defineHandler(
    sheet,
    {
      // A connection works on its route channel's sheet only (`sheet:<room>`; the route's
      // `authorize` refuses frames for any other channel).
      hello: async (_svc, conn) => {
        const channel = conn.channel;
        const state = (await store.get<SheetState>(sheetKey(channel))) ?? emptySheet();
        const entries = (await store.get<FocusEntries>(focusKey(channel))) ?? {};
        const generation = await stateGeneration(store);
        const fresh = Date.now() - FOCUS_TTL_MS;
        const focus = Object.values(entries)
          .filter((f) => f.at > fresh && f.key !== keyOf(conn))
          .map(({ at: _at, ...f }) => f);
        return { ...snapshot(state), cols: COLS, rows: ROWS, focus, you: focusOf(conn, null), maxInput: MAX_INPUT_LENGTH, generation };
      },

      edit: async (svc, conn, { ref, input, base }) => {
        const channel = conn.channel;
        let result!: EditResult;
        await store.update<SheetState>(sheetKey(channel), (cur) => {
          const state = cur ?? emptySheet();
          result = applyEdit(state, ref, input, base, conn.profile.name);
          return state;
        });
        switch (result.status) {
          case 'limit':
            throw new SocketError(ErrorCode.limitExceeded, result.message);
          case 'conflict':
            // Bring the editor up to date, then refuse: nothing was changed.
            svc.writeConnection(conn.id, sheet.message(channel, 'cells', { rev: result.rev, cells: [result.cell] }));
            throw new SocketError(
              'conflict',
              `${ref} was changed${result.cell.by ? ` by ${result.cell.by}` : ''} before your edit (version ${base} → ${result.cell.version}); your edit was not applied`,
            );
          case 'ok':
            if (result.changed.length) svc.writeChannel(sheet.message(channel, 'cells', { rev: result.rev, cells: result.changed }));
            return { rev: result.rev, cell: result.cell };
        }
      },

      focus: async (svc, conn, { ref }) => {
        const channel = conn.channel;
        const f = focusOf(conn, ref);
        if (await setFocus(channel, f)) svc.writeChannelVolatile(sheet.message(channel, 'focus', f), conn.id);
      },
    },
    {
      // Leaving clears the user's outline for everyone (onClose runs while still in the channel).
      onClose: async (svc, conn) => {
        const f = focusOf(conn, null);
        if (await setFocus(conn.channel, f)) svc.writeChannelVolatile(sheet.message(conn.channel, 'focus', f), conn.id);
      },
    },
  );
}
