// The /examples/editor page: CodeMirror 6 bound to a Yjs document that is synchronised over
// wsforge frames (sync / update / awareness / language), not y-websocket.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { css } from '@codemirror/lang-css';
import { html } from '@codemirror/lang-html';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { defaultKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import {
  crosshairCursor,
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  placeholder,
  rectangularSelection,
} from '@codemirror/view';
import { fromBase64, toBase64 } from 'lib0/buffer';
import { ySyncAnnotation, yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { EditorProtocol } from '../../server/features/editor/protocol';
import { LANGUAGES, type EditorLimits, type Language } from '../../server/features/editor/limits';
import type { RequestError } from '../request';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';
import { showLostState, StateGeneration } from '../snapshot';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('editor');
const statusEl = byId('status');
const codeEl = byId('code');
const statsEl = byId('stats');
const noticeEl = byId('notice');
const peopleEl = byId<HTMLUListElement>('people');
const languageSelect = byId<HTMLSelectElement>('language');
const nameForm = byId<HTMLFormElement>('name-form');
const nameInput = byId<HTMLInputElement>('name-input');
const room = root.dataset.room ?? 'lobby';
let name = root.dataset.name ?? '';

/** Origin of changes that came from the server: never sent back. */
const REMOTE = 'remote';
/**
 * Local Yjs updates are merged for this long before they go out as one frame, and cursor moves
 * are sent at most this often: at most 25 + 12.5 frames a second however fast someone types,
 * under the service's default rate limit (50 a second).
 */
const UPDATE_BATCH_MS = 40;
const AWARENESS_THROTTLE_MS = 80;
/** Refusals that would happen again with the same change: start over from the server's document. */
const REFUSALS = new Set(['doc_too_large', 'update_too_large', 'invalid_update']);

type User = { id: string; name: string; color: string; colorLight: string };

let limits: EditorLimits = { maxUpdateBytes: 32 * 1024, maxDocBytes: 256 * 1024 };
let me: User | undefined;
let storedBytes: number | undefined;
/** The server's state generation: another one on a reconnect means it lost its documents. */
const generation = new StateGeneration();

// ---- notices and status ---------------------------------------------------------------

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
/** Shows a short message under the editor; user names and server text go in as text. */
function notice(text: string, kind: 'info' | 'error' = 'info'): void {
  noticeEl.textContent = text;
  noticeEl.dataset.kind = kind;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (noticeEl.textContent = ''), 8000);
}

function setStatus(state: 'connecting' | 'connected' | 'reconnecting' | 'closed', text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

// ---- the document ---------------------------------------------------------------------

/**
 * One Y.Doc with its awareness and editor. Replaced as a whole when the server refuses one of
 * our updates: the refused change exists only here, so we start again from the server's copy.
 */
class Session {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText('code');
  readonly awareness = new Awareness(this.doc);
  readonly view: EditorView;
  /** True once the server's state is applied and ours sent: updates may go out as they happen. */
  synced = false;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushTimer?: ReturnType<typeof setTimeout>;
  private awarenessTimer?: ReturnType<typeof setTimeout>;

  constructor() {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.queue(update);
    });
    this.awareness.on('update', (_changes: unknown, origin: unknown) => {
      if (origin === 'local') this.scheduleAwareness();
    });
    this.awareness.on('change', () => renderPeople(this));
    this.view = new EditorView({ parent: codeEl, state: EditorState.create({ doc: this.text.toString(), extensions: this.extensions() }) });
  }

  private extensions(): Extension[] {
    const undoManager = new Y.UndoManager(this.text);
    return [
      // CodeMirror's standard keys (Enter indents and splits auto-closed brackets), Yjs's undo, Tab indents.
      keymap.of([...yUndoManagerKeymap, ...closeBracketsKeymap, ...defaultKeymap, ...foldKeymap, ...completionKeymap, indentWithTab]),
      lineNumbers(),
      highlightActiveLineGutter(),
      foldGutter(),
      highlightSpecialChars(),
      drawSelection(),
      dropCursor(),
      EditorState.allowMultipleSelections.of(true),
      indentOnInput(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      bracketMatching(),
      closeBrackets(),
      autocompletion(),
      rectangularSelection(),
      crosshairCursor(),
      highlightActiveLine(),
      placeholder('Start typing: everyone in this room sees it as you type.'),
      // A name for screen readers, and an explicit tab stop: axe counts the scroller as keyboard-reachable through it.
      EditorView.contentAttributes.of({ 'aria-label': 'Code', tabindex: '0' }),
      languageConf.of(languageSupport[currentLanguage]()),
      sizeGuard,
      yCollab(this.text, this.awareness, { undoManager }),
      editorTheme,
      EditorView.updateListener.of((u) => {
        if (u.docChanged) renderStats(this);
      }),
    ];
  }

  /** Local updates, merged for a moment, then sent as one `update` request. */
  private queue(update: Uint8Array): void {
    if (!this.synced) return; // in the doc already: the next sync sends whatever the server lacks
    if (this.pendingBytes + update.byteLength > limits.maxUpdateBytes) this.flush();
    this.pending.push(update);
    this.pendingBytes += update.byteLength;
    this.flushTimer ??= setTimeout(() => this.flush(), UPDATE_BATCH_MS);
  }

  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const updates = this.pending.splice(0);
    this.pendingBytes = 0;
    if (updates.length === 0 || !this.synced) return;
    this.send(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates));
  }

  send(update: Uint8Array): void {
    socket.request('', 'update', { update: toBase64(update) }).then(
      ({ bytes }) => {
        storedBytes = bytes;
        if (session === this) renderStats(this);
      },
      (err: RequestError) => {
        if (session !== this || err.code === 'timeout') return; // the connection dropped: the sync on reconnect resends
        if (REFUSALS.has(err.code)) restart(`The server refused a change (${err.message}). Reloaded the shared document.`);
        // Not applied for now (rate limited, store unavailable…): a sync sends whatever the server lacks.
        else syncNow(this);
      },
    );
  }

  /**
   * Sends our state vector, applies what the server has that we lack, then sends what the server
   * lacks (offline edits). A fresh page has nothing to send, so joining never overwrites anything.
   */
  async sync(): Promise<void> {
    this.synced = false;
    const reply = await socket.request('', 'sync', { sv: toBase64(Y.encodeStateVector(this.doc)) });
    if (session !== this) return;
    limits = reply.limits;
    me = reply.user;
    storedBytes = reply.bytes;
    Y.applyUpdate(this.doc, fromBase64(reply.update), REMOTE);
    const missing = Y.encodeStateAsUpdate(this.doc, fromBase64(reply.sv));
    // A CRDT merges: after a restart that lost the document, this page's copy goes back to the
    // server like offline edits do (and merges with any other page's), so nothing is lost.
    if (generation.lost(reply.generation)) {
      showLostState(root, `The server lost this document (it restarted without its data)${missing.byteLength > 2 ? ": this page's copy was sent back to it" : ''}.`);
    }
    this.synced = true;
    if (missing.byteLength > 2) this.send(missing); // [0, 0] is the empty update
    applyLanguage(reply.language);
    this.awareness.setLocalStateField('user', reply.user); // announces our cursor
    setStatus('connected', 'live');
    renderPeople(this);
    renderStats(this);
  }

  /** The connection dropped: stop sending, forget the others' cursors (they re-announce). */
  offline(): void {
    this.synced = false;
    this.pending = [];
    this.pendingBytes = 0;
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    removeAwarenessStates(this.awareness, others, 'offline');
  }

  /** Another member's cursors; if someone new appeared, tell them where we are. */
  receiveAwareness(update: Uint8Array): void {
    const known = new Set(this.awareness.getStates().keys());
    applyAwarenessUpdate(this.awareness, update, REMOTE);
    const someoneNew = [...this.awareness.getStates().keys()].some((id) => !known.has(id));
    if (someoneNew && this.synced) this.awareness.setLocalState(this.awareness.getLocalState());
  }

  private scheduleAwareness(): void {
    if (!this.synced) return;
    this.awarenessTimer ??= setTimeout(() => {
      this.awarenessTimer = undefined;
      if (this.synced) this.sendAwareness();
    }, AWARENESS_THROTTLE_MS);
  }

  private sendAwareness(): void {
    socket.send({ channel: '', cmd: 'awareness', param: { update: toBase64(encodeAwarenessUpdate(this.awareness, [this.doc.clientID])) } });
  }

  destroy(): void {
    clearTimeout(this.flushTimer);
    clearTimeout(this.awarenessTimer);
    if (this.synced) {
      this.awareness.setLocalState(null);
      this.sendAwareness(); // our old cursor goes away for the others at once
    }
    this.synced = false;
    this.view.destroy();
    this.doc.destroy();
  }
}

// ---- size guard, language, theme ------------------------------------------------------

/**
 * Refuses local changes the server would refuse anyway: an insert too large for one frame, or a
 * document past the size limit (counted in characters, 4 bytes each at worst with metadata).
 * Changes coming from the Yjs document (remote, undo) always pass.
 */
const sizeGuard = EditorState.changeFilter.of((tr) => {
  if (!tr.docChanged || tr.annotation(ySyncAnnotation)) return true;
  let inserted = 0;
  tr.changes.iterChanges((_fa, _ta, _fb, _tb, text) => (inserted += text.length));
  const maxInsert = Math.floor((limits.maxUpdateBytes - 1024) / 3);
  const maxChars = Math.floor(limits.maxDocBytes / 4);
  if (inserted > maxInsert) {
    notice(`That change inserts ${inserted.toLocaleString()} characters; at most ${maxInsert.toLocaleString()} go at once.`, 'error');
    return false;
  }
  if (tr.newDoc.length > maxChars && tr.newDoc.length > tr.startState.doc.length) {
    notice(`The document is limited to ${maxChars.toLocaleString()} characters.`, 'error');
    return false;
  }
  return true;
});

const languageSupport: Record<Language, () => Extension> = {
  javascript: () => javascript(),
  typescript: () => javascript({ typescript: true }),
  python: () => [python(), indentUnit.of('    ')], // PEP 8
  html: () => html(),
  css: () => css(),
  plain: () => [],
};
const languageConf = new Compartment();
let currentLanguage: Language = 'javascript';

function applyLanguage(language: Language): void {
  if (!(LANGUAGES as readonly string[]).includes(language)) return;
  currentLanguage = language;
  languageSelect.value = language;
  languageSelect.disabled = false;
  root.dataset.language = language;
  session.view.dispatch({ effects: languageConf.reconfigure(languageSupport[language]()) });
}

const editorTheme = EditorView.theme({
  '&': { height: '62vh', minHeight: '320px', fontSize: '14px', backgroundColor: '#fff' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', lineHeight: '1.55' },
  '.cm-content': { padding: '10px 0' },
  '.cm-placeholder': { color: '#5b6474' },
  '.cm-gutters': { backgroundColor: '#f7f8fa', color: '#98a2b3', borderRight: '1px solid #e3e6eb' },
  '.cm-activeLine': { backgroundColor: '#f5f8ff' },
  '.cm-activeLineGutter': { backgroundColor: '#eaf0fd', color: '#1d2330' },
  // Remote carets: the name label would cover the line above, so it shows only while the caret
  // (or the dot on its top) is hovered, and never takes a click; the list of people names colours.
  '.cm-ySelectionInfo': {
    top: '-1.45em',
    padding: '1px 5px',
    borderRadius: '4px 4px 4px 0',
    fontFamily: 'system-ui, sans-serif',
    fontSize: '11px',
    fontWeight: '600',
    pointerEvents: 'none',
  },
  '.cm-ySelectionCaret': { borderLeftWidth: '2px', borderRightWidth: '0' },
  '.cm-ySelectionCaretDot': { width: '7px', height: '7px', top: '-3px', left: '-4px' },
});

// ---- rendering ------------------------------------------------------------------------

/** Everyone whose cursor is in this document, one entry per user however many tabs. */
function renderPeople(s: Session): void {
  const users = new Map<string, User>();
  for (const state of s.awareness.getStates().values()) {
    const user = (state as { user?: User }).user;
    if (user?.id && !users.has(user.id)) users.set(user.id, user);
  }
  if (me) users.set(me.id, me);
  const items = [...users.values()].sort((a, b) => Number(b.id === me?.id) - Number(a.id === me?.id) || a.name.localeCompare(b.name));
  peopleEl.replaceChildren(
    ...items.map((u) => {
      const li = document.createElement('li');
      li.title = u.id === me?.id ? `${u.name} (you)` : u.name;
      const dot = document.createElement('span');
      dot.className = 'user-dot';
      dot.style.backgroundColor = u.color;
      const label = document.createElement('span');
      label.textContent = u.id === me?.id ? `${u.name} (you)` : u.name;
      li.append(dot, label);
      return li;
    }),
  );
}

function renderStats(s: Session): void {
  const doc = s.view.state.doc;
  const count = (n: number, what: string) => `${n.toLocaleString()} ${what}${n === 1 ? '' : 's'}`;
  const parts = [count(doc.lines, 'line'), count(doc.length, 'character')];
  if (storedBytes !== undefined) parts.push(`${(storedBytes / 1024).toFixed(1)} of ${Math.round(limits.maxDocBytes / 1024)} KiB stored`);
  statsEl.textContent = parts.join(' · ');
}

// ---- the connection -------------------------------------------------------------------

/** A socket for the room; its callbacks go quiet once it is no longer the page's socket (after a rename). */
const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: setStatus });

function socketFor(userName: string): Socket<EditorProtocol> {
  const params = new URLSearchParams({ room });
  if (userName) params.set('name', userName);
  const s: Socket<EditorProtocol> = new Socket<EditorProtocol>({
    url: `/examples/editor/socket?${params}`,
    onOpen: () => {
      if (s !== socket) return;
      connection.opened();
      setStatus('connecting', 'syncing…');
      syncNow(session);
    },
    onClose: (code, reason, retryInMs) => {
      if (s !== socket) return;
      session.offline();
      connection.closed(code, reason, retryInMs);
    },
    onMessage: (frame) => {
      if (s !== socket || showNotice(frame)) return;
      switch (frame.cmd) {
        case 'update':
          Y.applyUpdate(session.doc, fromBase64(frame.param.update), REMOTE);
          break;
        case 'awareness':
          session.receiveAwareness(fromBase64(frame.param.update));
          break;
        case 'language':
          if (frame.param.language !== currentLanguage && frame.param.userId !== me?.id) {
            notice(`${frame.param.by} switched the language to ${labelOf(frame.param.language)}.`);
          }
          applyLanguage(frame.param.language);
          break;
      }
    },
    onError: (service, error) => {
      if (s === socket && service !== 'socket') notice(error, 'error');
    },
  });
  return s;
}

const labelOf = (language: Language) => [...languageSelect.options].find((o) => o.value === language)?.textContent ?? language;

/** Syncs, and tries again a little later if that failed while still connected. */
function syncNow(target: Session): void {
  target.sync().catch((err: Error) => {
    notice(`Sync failed: ${err.message}`, 'error');
    setTimeout(() => {
      if (target === session && socket.connected && !target.synced) syncNow(target);
    }, 2000);
  });
}

function restart(message: string): void {
  notice(message, 'error');
  session.destroy();
  session = new Session();
  if (socket.connected) syncNow(session);
}

let session = new Session();
let socket = socketFor(name);

languageSelect.addEventListener('change', () => {
  const language = languageSelect.value as Language;
  socket.request('', 'language', { language }).catch((err: Error) => {
    notice(`Could not switch the language: ${err.message}`, 'error');
    languageSelect.value = currentLanguage;
  });
});

// A new name needs a new connection (the server sets names at connect): same document, new socket.
nameForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const next = nameInput.value.trim();
  if (next === name) return;
  name = next;
  session.flush();
  session.offline();
  socket.disconnect();
  socket = socketFor(name);
  const url = new URL(location.href);
  if (name) url.searchParams.set('name', name);
  else url.searchParams.delete('name');
  history.replaceState(null, '', url);
  nameInput.blur();
});

renderStats(session);
