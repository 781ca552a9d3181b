// The /examples/kanban page: a server-authoritative board on a typed Socket.
// The page never changes its board by itself: it sends a command, and applies the ops the server
// broadcasts (its own included) with the same applyOp the server uses, in version order.
import { applyOp, columnOf, type Board, type Card } from '../../server/features/kanban/board';
import type { KanbanProtocol } from '../../server/features/kanban/protocol';
import { RequestError } from '../request';
import type { ClientParam, ServerFrame } from '../../server/socket/protocol';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';
import { ActionNotice, short } from './action-notice';
import { PresenceList } from '../presence';
import { showLostState, SnapshotSync, StateGeneration } from '../snapshot';

type Frame = ServerFrame<KanbanProtocol>;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('kanban');
const room = root.dataset.room ?? 'lobby';
const maxText = Number(root.dataset.maxText) || 500;
const boardEl = byId('board');
const statusEl = byId('status');
const versionEl = byId('board-version');
const usersEl = byId<HTMLUListElement>('users');
const notice = new ActionNotice(byId('notice'), 6000, 'kb-undo');
const nameInput = byId<HTMLInputElement>('name-input');

let board: Board | undefined;
/** How long a delete can be undone (the server's `undoMs`, from sync). */
let undoMs = 10_000;
// Re-rendered on every change; the whole list fetched again when names come back.
const people = new PresenceList({ fetch: () => socket.presence(''), onChange: () => renderUsers() });
let me = '';

// ---- socket ------------------------------------------------------------------------------
const savedName = root.dataset.name || localStorage.getItem('wsforge-name') || '';
nameInput.value = savedName;
const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: setStatus });
const socket = new Socket<KanbanProtocol>({
  url: `${root.dataset.socket}?room=${encodeURIComponent(room)}${savedName ? `&name=${encodeURIComponent(savedName)}` : ''}`,
  onOpen: () => {
    connection.opened();
    setStatus('connected', 'connected');
    void snapshot.sync();
  },
  onClose: (code, reason, retryInMs) => connection.closed(code, reason, retryInMs),
  onMessage: (frame) => showNotice(frame) || snapshot.receive(frame),
  onError: (service, error) => {
    if (service !== 'socket') console.warn(`kanban ${service}: ${error}`);
  },
});

function setStatus(state: string, text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

/** The board from the server (every connect and reconnect, and after a missed version); ops that come meanwhile follow it. */
const generation = new StateGeneration();
const snapshot = new SnapshotSync<Frame>({
  load: async () => {
    const s = await socket.request('', 'sync', {});
    // The server's board replaces ours, whatever its version: after a restart that lost the board it starts again at 0.
    board = s.board;
    if (generation.lost(s.generation)) showLostState(root, 'The server lost this board (it restarted without its data): showing what it has now.');
    me = s.me.id;
    undoMs = s.limits.undoMs;
    people.set(s.users);
  },
  apply,
  loaded: render,
  canRetry: () => socket.connected,
  onError: (e) => console.warn(`kanban sync failed: ${e.message}`),
});

function apply(frame: Frame): void {
  switch (frame.cmd) {
    case 'op': {
      if (!board) return;
      const { version, op, by } = frame.param;
      if (version <= board.version) return; // the snapshot has it already
      if (version > board.version + 1) return void snapshot.sync(); // missed one: reload
      const before = board;
      board = applyOp(board, op);
      // Someone else's delete or undo is told (this page's own are in its undo notice).
      if (op.type === 'delete' && !ownChanges.has(op.card)) {
        const text = before.cards[op.card]?.text ?? op.card;
        notice.show(editors.delete(op.card) ? `${by} deleted the card you were editing ("${short(text)}").` : `${by} deleted "${short(text)}".`);
      } else if (op.type === 'restore' && !ownChanges.has(op.card.id)) {
        notice.show(`${by} restored "${short(op.card.text)}".`);
      }
      return render();
    }
    case 'presence-diff':
      return void people.apply(frame.param);
    case 'error':
      return notice.show(frame.param.message);
  }
}

// ---- commands ----------------------------------------------------------------------------
/** "sending…" next to the connection status while commands wait for their answer (offline too: they are retry-safe). */
const sendingEl = document.createElement('span');
sendingEl.id = 'sending';
sendingEl.className = 'kb-sending';
sendingEl.setAttribute('role', 'status');
sendingEl.hidden = true;
statusEl.after(sendingEl);
let sending = 0;

/** A command, sent retry-safe (once, however many reconnects), with "sending…" shown until it is answered. */
async function send<K extends 'add' | 'edit' | 'move' | 'delete' | 'restore'>(cmd: K, param: ClientParam<KanbanProtocol, K>): Promise<void> {
  sending++;
  sendingEl.hidden = false;
  sendingEl.textContent = sending > 1 ? `sending ${sending} changes…` : 'sending…';
  try {
    await socket.request('', cmd, param, { retry: true });
  } finally {
    sending--;
    sendingEl.hidden = sending === 0;
    sendingEl.textContent = sending > 1 ? `sending ${sending} changes…` : sending ? 'sending…' : '';
  }
}

async function command<K extends 'add' | 'edit' | 'move' | 'delete' | 'restore'>(cmd: K, param: ClientParam<KanbanProtocol, K>): Promise<boolean> {
  try {
    await send(cmd, param);
    return true;
  } catch (e) {
    const code = e instanceof RequestError ? e.code : '';
    notice.show(`Not saved: ${(e as Error).message}`);
    if (code === 'not_found') void snapshot.sync();
    return false;
  }
}

function moveBy(cardId: string, dColumn: number, dRow: number): void {
  if (!board) return;
  const from = columnOf(board, cardId);
  if (!from) return;
  const row = from.cards.indexOf(cardId);
  focusAfter = cardId;
  if (dColumn !== 0) {
    const to = board.columns[board.columns.indexOf(from) + dColumn];
    if (!to) return;
    void command('move', { card: cardId, column: to.id, before: to.cards[row] ?? null });
  } else {
    const target = row + dRow;
    if (target < 0 || target >= from.cards.length) return;
    // Before the card above, or before the one after the card below.
    void command('move', { card: cardId, column: from.id, before: dRow < 0 ? from.cards[target]! : (from.cards[target + 1] ?? null) });
  }
}

// ---- delete, confirmed, with undo ----------------------------------------------------------
/** Cards showing "Delete this card?" in place of their buttons. */
const confirming = new Set<string>();
/** Cards this page is deleting or restoring: their ops are not announced to this page as someone else's. */
const ownChanges = new Set<string>();
/** The ✕ button or the Delete key: asks first, in the card (Escape or Cancel keeps it). */
function askDelete(cardId: string): void {
  if (!board?.cards[cardId]) return;
  confirming.add(cardId);
  render();
  cardEls.get(cardId)?.querySelector<HTMLButtonElement>('[data-act="confirm-delete"]')?.focus();
}

function cancelDelete(cardId: string): void {
  confirming.delete(cardId);
  focusAfter = cardId;
  render();
}

/** Deletes the card as the user saw it, then offers Undo for as long as the server allows it. */
async function deleteCard(cardId: string): Promise<void> {
  confirming.delete(cardId);
  render();
  const card = board?.cards[cardId];
  if (!card) return;
  ownChanges.add(cardId);
  const ok = await command('delete', { card: cardId, version: card.version });
  ownChanges.delete(cardId);
  if (!ok) return;
  notice.show(`Deleted "${short(card.text)}".`, { label: 'Undo', run: () => void restoreCard(cardId, card.text) }, undoMs);
  // The focused card is gone: a keyboard user lands on Undo rather than nowhere.
  if (document.activeElement === document.body) notice.el.querySelector('button')?.focus();
}

async function restoreCard(cardId: string, text: string): Promise<void> {
  ownChanges.add(cardId);
  const ok = await command('restore', { card: cardId });
  ownChanges.delete(cardId);
  if (ok) {
    notice.show(`Restored "${short(text)}".`);
    focusAfter = cardId;
    render();
  }
}

// ---- editing -----------------------------------------------------------------------------
/** Open editors: the card version the text was taken from, and a conflict note to show. */
const editors = new Map<string, { base: number; draft?: string; note?: string }>();

function openEditor(cardId: string): void {
  const card = board?.cards[cardId];
  if (!card) return;
  editors.set(cardId, { base: card.version });
  render();
  cardEls.get(cardId)?.querySelector('textarea')?.focus();
}

async function saveEditor(cardId: string, text: string): Promise<void> {
  const ed = editors.get(cardId);
  if (!ed) return;
  ed.draft = text;
  try {
    await send('edit', { card: cardId, text, version: ed.base });
    editors.delete(cardId);
    focusAfter = cardId;
    render();
  } catch (e) {
    const code = e instanceof RequestError ? e.code : '';
    const card = board?.cards[cardId];
    if (code === 'conflict' && card) {
      // Someone changed it first: their version is on the board now. Keep our text; saving
      // again is a deliberate overwrite of the version we have now seen.
      ed.base = card.version;
      ed.note = `${card.updatedBy} changed this card while you were editing. Their text is below yours; save again to replace it.`;
    } else {
      ed.note = (e as Error).message;
      if (code === 'not_found') editors.delete(cardId);
    }
    render();
  }
}

// ---- rendering ---------------------------------------------------------------------------
const columnEls = new Map<string, { section: HTMLElement; list: HTMLOListElement; count: HTMLElement }>();
const cardEls = new Map<string, HTMLLIElement>();
let focusAfter: string | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(act: string, label: string, text: string): HTMLButtonElement {
  const b = el('button', 'kb-btn', text);
  b.type = 'button';
  b.dataset.act = act;
  b.setAttribute('aria-label', label);
  b.title = label;
  return b;
}

function columnEl(id: string, title: string) {
  let c = columnEls.get(id);
  if (c) return c;
  const section = el('section', 'kb-col');
  section.dataset.column = id;
  const head = el('header', 'kb-col-head');
  const h = el('h2', undefined, title);
  const count = el('span', 'kb-count', '0');
  head.append(h, count);
  const list = el('ol', 'kb-cards');
  list.dataset.column = id;
  list.setAttribute('aria-label', title);
  const form = el('form', 'kb-add');
  const input = el('input');
  input.name = 'text';
  input.placeholder = `Add a card to ${title}`;
  input.maxLength = maxText;
  input.autocomplete = 'off';
  input.setAttribute('aria-label', `New card in ${title}`);
  const add = el('button', undefined, 'Add');
  form.append(input, add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    // The text stays in the box until the server has it (and when it failed: the notice says why).
    form.dataset.state = 'sending';
    const ok = await command('add', { column: id, text });
    delete form.dataset.state;
    if (ok && input.value.trim() === text) input.value = '';
  });
  section.append(head, list, form);
  boardEl.append(section);
  columnEls.set(id, (c = { section, list, count }));
  return c;
}

function cardEl(card: Card): HTMLLIElement {
  let li = cardEls.get(card.id);
  if (!li) {
    li = el('li', 'kb-card');
    li.dataset.id = card.id;
    li.tabIndex = 0;
    cardEls.set(card.id, li);
  }
  const ed = editors.get(card.id);
  // An open editor is rebuilt only when its note changes: someone else's edit meanwhile must not
  // take the text or the focus from the person typing (their save will meet the conflict).
  const asking = confirming.has(card.id);
  const key = ed ? `edit:${ed.note ?? ''}` : `${asking ? 'confirm' : 'view'}:${card.version}:${card.updatedBy}`;
  if (li.dataset.rendered === key) return li;
  li.dataset.rendered = key;
  li.draggable = !ed;
  li.classList.toggle('editing', !!ed);
  if (ed) {
    const form = el('form', 'kb-edit');
    const area = el('textarea');
    area.value = ed.draft ?? li.querySelector('textarea')?.value ?? card.text;
    area.maxLength = maxText;
    area.rows = 3;
    area.setAttribute('aria-label', 'Card text');
    const children: HTMLElement[] = [area];
    if (ed.note) {
      children.push(el('p', 'kb-conflict', ed.note));
      children.push(el('blockquote', 'kb-theirs', card.text));
    }
    const actions = el('div', 'kb-edit-actions');
    const save = el('button', undefined, 'Save');
    const cancel = el('button', 'secondary', 'Cancel');
    cancel.type = 'button';
    cancel.addEventListener('click', () => {
      editors.delete(card.id);
      focusAfter = card.id;
      render();
    });
    actions.append(save, cancel);
    children.push(actions);
    form.append(...children);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void saveEditor(card.id, area.value);
    });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        form.requestSubmit();
      } else if (e.key === 'Escape') cancel.click();
      e.stopPropagation();
    });
    const hadFocus = li.contains(document.activeElement);
    li.replaceChildren(form);
    if (hadFocus) area.focus();
    return li;
  }
  const text = el('div', 'kb-text', card.text);
  if (asking) {
    const ask = el('div', 'kb-confirm');
    ask.setAttribute('role', 'group');
    ask.setAttribute('aria-label', 'Confirm delete');
    const yes = el('button', 'kb-danger', 'Delete');
    yes.type = 'button';
    yes.dataset.act = 'confirm-delete';
    const no = el('button', 'secondary', 'Cancel');
    no.type = 'button';
    no.dataset.act = 'cancel-delete';
    ask.append(el('span', undefined, 'Delete this card?'), yes, no);
    const hadFocus = li.contains(document.activeElement);
    li.replaceChildren(text, ask);
    if (hadFocus) yes.focus();
    return li;
  }
  const meta = el('div', 'kb-meta');
  meta.append(el('span', 'kb-who', `${card.version > 1 ? 'edited' : 'added'} by ${card.updatedBy} · v${card.version}`));
  const actions = el('span', 'kb-actions');
  actions.append(
    button('left', 'Move to the previous column', '←'),
    button('up', 'Move up', '↑'),
    button('down', 'Move down', '↓'),
    button('right', 'Move to the next column', '→'),
    button('edit', 'Edit', '✎'),
    button('delete', 'Delete', '✕'),
  );
  meta.append(actions);
  li.replaceChildren(text, meta);
  return li;
}

function render(): void {
  if (!board) return;
  const b = board;
  for (const col of b.columns) {
    const { list, count } = columnEl(col.id, col.title);
    count.textContent = String(col.cards.length);
    // Reorder in place: only nodes out of place move, so focus and open editors survive.
    col.cards.forEach((id, i) => {
      const li = cardEl(b.cards[id]!);
      const at = list.children[i];
      if (at !== li) list.insertBefore(li, at ?? null);
    });
    for (const extra of [...list.children].slice(col.cards.length)) if (!extra.classList.contains('kb-drop')) extra.remove();
    list.classList.toggle('empty', col.cards.length === 0);
  }
  for (const [id, li] of cardEls) {
    if (!Object.hasOwn(b.cards, id)) {
      li.remove();
      cardEls.delete(id);
      editors.delete(id);
      confirming.delete(id);
    }
  }
  const n = Object.keys(b.cards).length;
  versionEl.textContent = `board version ${b.version} · ${n} ${n === 1 ? 'card' : 'cards'}`;
  root.dataset.version = String(b.version);
  if (focusAfter && cardEls.has(focusAfter) && !editors.has(focusAfter)) {
    cardEls.get(focusAfter)!.focus();
    focusAfter = undefined;
  }
}

function renderUsers(): void {
  // Above the server's list limit diffs carry the count only: show it instead of names.
  if (!people.listed) return usersEl.replaceChildren(el('li', 'muted', `${people.count} ${people.count === 1 ? 'user' : 'users'}`));
  usersEl.replaceChildren(
    ...[...people.users].map(([id, name]) => {
      const li = el('li', id === me ? 'me' : undefined, name);
      if (id === me) li.title = 'you';
      return li;
    }),
  );
}

// ---- interaction -------------------------------------------------------------------------
const cardOf = (t: EventTarget | null) => (t instanceof Element ? (t.closest('.kb-card') as HTMLLIElement | null) : null);

boardEl.addEventListener('click', (e) => {
  const act = (e.target as Element).closest<HTMLElement>('[data-act]')?.dataset.act;
  const id = cardOf(e.target)?.dataset.id;
  if (!act || !id) return;
  if (act === 'left') moveBy(id, -1, 0);
  else if (act === 'right') moveBy(id, 1, 0);
  else if (act === 'up') moveBy(id, 0, -1);
  else if (act === 'down') moveBy(id, 0, 1);
  else if (act === 'edit') openEditor(id);
  else if (act === 'delete') askDelete(id);
  else if (act === 'confirm-delete') void deleteCard(id);
  else if (act === 'cancel-delete') cancelDelete(id);
});

boardEl.addEventListener('keydown', (e) => {
  const li = cardOf(e.target);
  if (li && e.key === 'Escape' && confirming.has(li.dataset.id!)) return cancelDelete(li.dataset.id!);
  if (!li || e.target !== li) return;
  const id = li.dataset.id!;
  const arrows: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (e.altKey && arrows[e.key]) {
    e.preventDefault();
    moveBy(id, ...arrows[e.key]!);
  } else if (e.key === 'Enter') {
    e.preventDefault();
    openEditor(id);
  } else if (e.key === 'Delete') {
    e.preventDefault();
    askDelete(id);
  }
});

// HTML5 drag and drop: a drop line shows where the card will land; the drop sends one `move`.
let dragId: string | undefined;
const dropLine = el('li', 'kb-drop');
dropLine.setAttribute('aria-hidden', 'true');

/** The card a drop at clientY would go before: the first (other) card whose middle is below it. */
function beforeAt(list: HTMLOListElement, y: number): HTMLLIElement | undefined {
  for (const li of list.querySelectorAll<HTMLLIElement>('.kb-card')) {
    if (li.dataset.id === dragId) continue;
    const r = li.getBoundingClientRect();
    if (y < r.top + r.height / 2) return li;
  }
  return undefined;
}

boardEl.addEventListener('dragstart', (e) => {
  const li = cardOf(e.target);
  if (!li || !e.dataTransfer) return;
  dragId = li.dataset.id;
  e.dataTransfer.setData('text/plain', dragId!);
  e.dataTransfer.effectAllowed = 'move';
  li.classList.add('dragging');
});
boardEl.addEventListener('dragover', (e) => {
  const col = (e.target as Element).closest<HTMLElement>('.kb-col');
  if (!col || !dragId) return;
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
  const list = columnEls.get(col.dataset.column!)!.list;
  const before = beforeAt(list, e.clientY);
  if (dropLine.parentElement !== list || dropLine.nextElementSibling !== (before ?? null)) list.insertBefore(dropLine, before ?? null);
  for (const c of columnEls.values()) c.section.classList.toggle('drop-target', c.section === col);
});
boardEl.addEventListener('drop', (e) => {
  const col = (e.target as Element).closest<HTMLElement>('.kb-col');
  if (!col || !dragId) return;
  e.preventDefault();
  const before = beforeAt(columnEls.get(col.dataset.column!)!.list, e.clientY);
  const card = dragId;
  endDrag();
  focusAfter = card;
  void command('move', { card, column: col.dataset.column!, before: before?.dataset.id ?? null });
});
boardEl.addEventListener('dragend', endDrag);
boardEl.addEventListener('dragleave', (e) => {
  if (!boardEl.contains(e.relatedTarget as Node | null)) {
    dropLine.remove();
    for (const c of columnEls.values()) c.section.classList.remove('drop-target');
  }
});
function endDrag(): void {
  if (dragId) cardEls.get(dragId)?.classList.remove('dragging');
  dragId = undefined;
  dropLine.remove();
  for (const c of columnEls.values()) c.section.classList.remove('drop-target');
}

byId('name-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = nameInput.value.trim();
  localStorage.setItem('wsforge-name', name);
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  if (name) url.searchParams.set('name', name);
  else url.searchParams.delete('name');
  location.assign(url.href); // the name is part of the socket's identity: reconnect with it
});
