// The /examples/spreadsheet page: a grid kept in step with the server's sheet. The server
// computes every value; this page shows them, sends edits (with the version it saw) and
// shows who has which cell selected. All user text is set with textContent.
import type { CellView, Focus, SheetProtocol } from '../../server/features/sheet/protocol';
import type { ServerFrame } from '../../server/socket/protocol';
import type { RequestError } from '../request';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';
import { ActionNotice, short } from './action-notice';
import { showLostState, SnapshotSync, StateGeneration } from '../snapshot';

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('sheet');
const grid = byId<HTMLTableElement>('grid');
const wrap = byId('grid-wrap');
const formula = byId<HTMLInputElement>('formula');
const nameBox = byId('name-box');
const statusEl = byId('status');
const notice = new ActionNotice(byId('notice'), 8000);
const peopleEl = byId('people');
const room = root.dataset.room ?? 'lobby';
/** The display name: from ?name=, else the one last set on any example page. The server cleans it. */
const name = root.dataset.name || localStorage.getItem('wsforge-name') || '';
byId<HTMLInputElement>('name-input').value = name;

let cols = 26;
let rows = 100;
/** The newest known state of each touched cell; a cell update older (lower rev) than what we have is ignored. */
let cells = new Map<string, CellView>();
/** Other connections' selections, by presence key. */
let focus = new Map<string, Focus>();
let me: Focus | undefined;
let selected = 'A1';
/** The in-cell editor while editing, with the cell it edits. */
let editor: { input: HTMLInputElement; ref: string; base: number; cancelled: boolean } | undefined;
/** The version of the selected cell when the formula bar started editing it. */
let formulaBase: number | undefined;
/** Edits of one cell go one at a time: the next one needs the version the previous one produced. */
const pending = new Map<string, Promise<void>>();
/** Our last accepted edit of each cell: the version it started from and the one it produced. */
const ownEdits = new Map<string, { from: number; to: number }>();
const tds = new Map<string, HTMLTableCellElement>();

const colName = (i: number) => String.fromCharCode(65 + i);
const split = (ref: string) => ({ col: ref.charCodeAt(0) - 65, row: Number(ref.slice(1)) - 1 });
const refOf = (col: number, row: number) => `${colName(col)}${row + 1}`;

// ---------- grid ----------

function buildGrid(): void {
  const head = document.createElement('thead');
  const hr = head.insertRow();
  hr.append(Object.assign(document.createElement('th'), { className: 'corner' }));
  for (let c = 0; c < cols; c++) hr.append(Object.assign(document.createElement('th'), { textContent: colName(c), scope: 'col' }));
  const body = document.createElement('tbody');
  tds.clear();
  for (let r = 0; r < rows; r++) {
    const tr = body.insertRow();
    tr.append(Object.assign(document.createElement('th'), { textContent: String(r + 1), scope: 'row' }));
    for (let c = 0; c < cols; c++) {
      const td = tr.insertCell();
      const ref = refOf(c, r);
      td.dataset.ref = ref;
      tds.set(ref, td);
    }
  }
  grid.replaceChildren(head, body);
}

function display(c: CellView | undefined): string {
  if (!c) return '';
  if (c.error) return c.error;
  if (typeof c.value === 'number') return Number.isInteger(c.value) ? String(c.value) : String(Number(c.value.toPrecision(10)));
  return c.value ?? '';
}

function renderCell(ref: string): void {
  const td = tds.get(ref);
  if (!td) return;
  const c = cells.get(ref);
  const text = td.querySelector(':scope > .v') ?? td.appendChild(Object.assign(document.createElement('span'), { className: 'v' }));
  text.textContent = display(c);
  td.classList.toggle('num', typeof c?.value === 'number');
  td.classList.toggle('err', Boolean(c?.error));
  td.classList.toggle('formula', Boolean(c?.input.startsWith('=')));
  td.title = c && c.input ? `${c.input.startsWith('=') ? `${c.input} = ${display(c)}` : c.input}${c.by ? ` — ${c.by}` : ''}` : '';
  renderPresence(ref);
  if (ref === selected && !editor && document.activeElement !== formula) formula.value = c?.input ?? '';
}

function renderPresence(ref: string): void {
  const td = tds.get(ref);
  if (!td) return;
  const here = [...focus.values()].filter((f) => f.ref === ref);
  td.querySelector(':scope > .tag')?.remove();
  td.classList.toggle('remote', here.length > 0);
  if (here.length === 0) {
    td.style.removeProperty('--who');
    return;
  }
  td.style.setProperty('--who', here[0]!.color);
  const tag = document.createElement('span');
  tag.className = 'tag';
  tag.textContent = [...new Set(here.map((f) => f.name))].join(', ');
  td.append(tag);
}

function renderPeople(): void {
  const items = [me, ...focus.values()].filter((f): f is Focus => f !== undefined);
  peopleEl.replaceChildren(
    ...items.map((f) => {
      const li = document.createElement('li');
      li.style.setProperty('--who', f.color);
      li.textContent = `${f.name}${f === me ? ' (you)' : ''}${f.ref ? ` · ${f.ref}` : ''}`;
      return li;
    }),
  );
}

/** Applies cell states from the server, keeping whichever is newest per cell; says when someone else cleared one. */
function apply(list: CellView[]): void {
  for (const c of list) {
    const known = cells.get(c.ref);
    if (known && known.rev > c.rev) continue;
    if (known?.input && !c.input && !pending.has(c.ref)) notice.show(`${c.by ?? 'Someone'} cleared ${c.ref} (it held "${short(known.input)}").`);
    cells.set(c.ref, c);
    renderCell(c.ref);
  }
}

function select(ref: string, scroll = true): void {
  if (editor) commitEditor();
  const prev = selected;
  selected = ref;
  tds.get(prev)?.classList.remove('selected');
  const td = tds.get(ref)!;
  td.classList.add('selected');
  // Highlight the row and column headers of the selection.
  for (const th of grid.querySelectorAll('th.active')) th.classList.remove('active');
  const { col, row } = split(ref);
  grid.tHead?.rows[0]?.cells[col + 1]?.classList.add('active');
  grid.tBodies[0]?.rows[row]?.cells[0]?.classList.add('active');
  nameBox.textContent = ref;
  formula.value = cells.get(ref)?.input ?? '';
  if (scroll) td.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  sendFocus(ref);
}

function move(dc: number, dr: number): void {
  const { col, row } = split(selected);
  select(refOf(Math.min(cols - 1, Math.max(0, col + dc)), Math.min(rows - 1, Math.max(0, row + dr))));
}

// ---------- editing ----------

function startEdit(initial?: string): void {
  const td = tds.get(selected)!;
  const input = document.createElement('input');
  input.className = 'cell-editor';
  input.maxLength = 500;
  input.spellcheck = false;
  input.value = initial ?? cells.get(selected)?.input ?? '';
  formula.value = input.value;
  // The version seen when editing starts is the edit's base: a change by someone else meanwhile is a conflict.
  editor = { input, ref: selected, base: versionOf(selected), cancelled: false };
  td.append(input);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  input.addEventListener('input', () => (formula.value = input.value));
  input.addEventListener('blur', () => commitEditor());
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      commitEditor();
      move(e.key === 'Tab' ? (e.shiftKey ? -1 : 1) : 0, e.key === 'Enter' ? (e.shiftKey ? -1 : 1) : 0);
      wrap.focus({ preventScroll: true });
    } else if (e.key === 'Escape') {
      editor!.cancelled = true;
      commitEditor();
      formula.value = cells.get(selected)?.input ?? '';
      wrap.focus({ preventScroll: true });
    }
  });
}

function commitEditor(): void {
  const ed = editor;
  if (!ed) return;
  editor = undefined;
  ed.input.remove();
  if (!ed.cancelled) commit(ed.ref, ed.input.value, ed.base);
}

const versionOf = (ref: string) => cells.get(ref)?.version ?? 0;

/**
 * Sends an edit with the version of the cell the user started from (`base`); when someone else
 * changed the cell meanwhile the server refuses it and sends the newer cell, shown instead, and
 * the user's text is kept for them to apply again (keepRefused). Clearing a cell offers Undo.
 */
function commit(ref: string, input: string, base = versionOf(ref)): void {
  if (input === (cells.get(ref)?.input ?? '') && base === versionOf(ref)) return;
  const td = tds.get(ref)!;
  const prev = pending.get(ref) ?? Promise.resolve();
  const run = prev.then(async () => {
    td.classList.add('pending');
    const was = cells.get(ref)?.input ?? '';
    try {
      // Started before our own previous edit of this cell was accepted: build on that edit, not on a conflict with ourselves.
      const own = ownEdits.get(ref);
      const from = own && own.from === base ? own.to : base;
      const { cell } = await socket.request('', 'edit', { ref, input, base: from });
      ownEdits.set(ref, { from, to: cell.version });
      apply([cell]);
      if (input === '' && was !== '') notice.show(`Cleared ${ref} (it held "${short(was)}").`, { label: 'Undo', run: () => commit(ref, was, cell.version) }, UNDO_MS);
      else notice.hide();
    } catch (e) {
      const err = e as RequestError;
      if (err.code === 'conflict') keepRefused(ref, input);
      else notice.show(`Not saved (${err.code}): ${err.message}`);
    } finally {
      td.classList.remove('pending');
    }
  });
  pending.set(ref, run);
  void run.finally(() => pending.get(ref) === run && pending.delete(ref));
}

/** How long the Undo of a cleared cell is offered. */
const UNDO_MS = 10_000;
/**
 * An edit refused as a conflict: the newer cell is shown (the server sent it first) and the
 * notice says what it holds now. The user's text goes back into the cell's editor on that newer
 * version, so Enter applies it over the other value on purpose and Esc drops it; when they are
 * already editing something else, a button in the notice brings the text back instead.
 */
function keepRefused(ref: string, input: string): void {
  const c = cells.get(ref);
  const theirs = c?.input ? `"${short(c.input)}"` : 'empty';
  const what = `${c?.by ?? 'Someone'} changed ${ref} to ${theirs} before your edit, which was not saved.`;
  const reopen = () => {
    select(ref);
    startEdit(input);
  };
  if (editor || document.activeElement === formula) return notice.show(what, { label: 'Edit my text again', run: reopen }, UNDO_MS);
  reopen();
  notice.show(`${what} Your text is back in the cell: Enter saves it over theirs, Esc drops it.`, undefined, UNDO_MS);
}

// ---------- presence ----------

let sentFocus: string | null | undefined;
function sendFocus(ref: string | null): void {
  if (ref === sentFocus || !socket.connected) return;
  sentFocus = ref;
  socket.send({ channel: '', cmd: 'focus', param: { ref } });
  if (me) me.ref = ref;
  renderPeople();
}

function setRemoteFocus(f: Focus): void {
  const old = focus.get(f.key)?.ref;
  if (f.ref === null) focus.delete(f.key);
  else focus.set(f.key, f);
  if (old) renderPresence(old);
  if (f.ref) renderPresence(f.ref);
  renderPeople();
}

// ---------- events ----------

grid.addEventListener('mousedown', (e) => {
  const td = (e.target as HTMLElement).closest('td');
  if (!td || td.querySelector('.cell-editor')) return;
  e.preventDefault();
  select(td.dataset.ref!, false);
  wrap.focus({ preventScroll: true });
});
grid.addEventListener('dblclick', (e) => {
  const td = (e.target as HTMLElement).closest('td');
  if (td && !editor) startEdit();
});

wrap.addEventListener('keydown', (e) => {
  if (editor || e.target !== wrap) return;
  const moves: Record<string, [number, number]> = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0], Tab: [e.shiftKey ? -1 : 1, 0], Enter: [0, e.shiftKey ? -1 : 1] };
  if (e.key === 'F2') {
    e.preventDefault();
    startEdit();
  } else if (moves[e.key]) {
    e.preventDefault();
    move(...moves[e.key]!);
  } else if (e.key === 'Delete' || e.key === 'Backspace') {
    e.preventDefault();
    commit(selected, '');
  } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    startEdit(e.key);
  }
});

formula.addEventListener('focus', () => (formulaBase = versionOf(selected)));
formula.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    commit(selected, formula.value, formulaBase);
    formulaBase = undefined;
    wrap.focus({ preventScroll: true });
    move(0, 1);
  } else if (e.key === 'Escape') {
    formula.value = cells.get(selected)?.input ?? '';
    wrap.focus({ preventScroll: true });
  }
});

// Presence follows the page: no outline for others while this window is in the background.
window.addEventListener('blur', () => sendFocus(null));
window.addEventListener('focus', () => sendFocus(selected));

// The name is part of the connection's identity: reconnect (reload) with the new one.
byId('name-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const next = byId<HTMLInputElement>('name-input').value.trim();
  localStorage.setItem('wsforge-name', next);
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  if (next) url.searchParams.set('name', next);
  else url.searchParams.delete('name');
  location.assign(url.href);
});

// ---------- connection ----------

function setStatus(text: string, state: 'ok' | 'warn' | 'bad'): void {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

/**
 * The whole sheet on every (re)connect: `hello` while the server's `cells` frames are held, then
 * those frames on top (newest per cell). The snapshot replaces what the page had: after a server
 * restart the page shows the server's sheet, not its own older cells (else edits based on their
 * versions would be refused as conflicts, and formulas would disagree with what is shown).
 */
const generation = new StateGeneration();
const snapshot = new SnapshotSync<ServerFrame<SheetProtocol>>({
  load: async () => {
    const hello = await socket.request('', 'hello', {});
    if (hello.cols !== cols || hello.rows !== rows || tds.size === 0) {
      ({ cols, rows } = hello);
      buildGrid();
    }
    cells = new Map(hello.cells.map((c) => [c.ref, c]));
    if (generation.lost(hello.generation)) {
      // Versions of the lost sheet mean nothing now: edits in progress start from the server's cells.
      ownEdits.clear();
      if (editor) editor.base = versionOf(editor.ref);
      if (formulaBase !== undefined) formulaBase = versionOf(selected);
      showLostState(root, 'The server lost this sheet (it restarted without its data): showing what it has now.');
    }
    focus = new Map(hello.focus.map((f) => [f.key, f]));
    me = hello.you;
    for (const ref of tds.keys()) renderCell(ref);
  },
  apply: (frame) => {
    if (frame.cmd === 'cells') apply(frame.param.cells);
    else if (frame.cmd === 'focus') setRemoteFocus(frame.param);
  },
  loaded: () => {
    root.dataset.ready = 'true';
    sentFocus = undefined;
    select(selected, false);
    renderPeople();
  },
  canRetry: () => socket.connected,
  onError: (e) => setStatus(`sync failed: ${e.message}`, 'bad'),
});

const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: (state, text) => setStatus(text, state === 'closed' ? 'bad' : 'warn') });
const socket = new Socket<SheetProtocol>({
  url: `/examples/spreadsheet/socket?room=${encodeURIComponent(room)}${name ? `&name=${encodeURIComponent(name)}` : ''}`,
  // Every (re)connect: the whole sheet and the others' selections, then ours.
  onOpen: () => {
    connection.opened();
    setStatus('connected', 'ok');
    void snapshot.sync();
  },
  onClose: (code, reason, retryInMs) => {
    root.dataset.ready = 'false';
    connection.closed(code, reason, retryInMs);
  },
  onMessage: (frame) => showNotice(frame) || snapshot.receive(frame),
  // Refused edits are shown by commit(); anything else unexpected goes to the notice.
  onError: (service, error) => {
    if (service !== 'server') notice.show(`${service}: ${error}`);
  },
});

buildGrid();
select('A1', false);
wrap.focus({ preventScroll: true });
