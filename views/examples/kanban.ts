import { html } from '../html';
import { layout } from '../layout';

export interface KanbanPageData {
  room: string;
  name: string;
  socketPath: string;
  maxTextLength: number;
}

/** The shared kanban board. Behaviour lives in client/pages/kanban.ts; the board itself arrives over the socket. */
export function kanbanPage(d: KanbanPageData): string {
  return layout({
    title: 'Kanban',
    active: 'examples',
    styles: ['/css/kanban.css'],
    scripts: ['/js/pages/kanban.js'],
    body: html`<div id="kanban" class="kanban" data-room="${d.room}" data-name="${d.name}" data-socket="${d.socketPath}" data-max-text="${d.maxTextLength}">
<header class="kb-head">
  <div>
    <h1>Kanban <small>room <code>${d.room}</code></small></h1>
    <p class="muted">Add, edit, drag and drop cards; everyone in the room sees each change. The server orders every change, so all boards stay identical.</p>
  </div>
  <div class="kb-status">
    <span id="status" class="status-pill" data-state="connecting">connecting…</span>
    <span id="board-version" class="muted small"></span>
  </div>
</header>
<div class="kb-bar">
  <div class="kb-users"><span class="muted small">Here now</span> <ul id="users" class="kb-user-list"></ul></div>
  <form id="name-form" class="kb-name">
    <label for="name-input" class="muted small">Name</label>
    <input id="name-input" maxlength="32" placeholder="your name" value="${d.name}" autocomplete="nickname">
  </form>
</div>
<div id="notice" class="kb-notice" role="status" aria-live="polite" hidden></div>
<div id="board" class="kb-board" aria-label="Board"></div>
<p class="muted small kb-help">Keyboard: focus a card, then <kbd>Alt</kbd>+<kbd>←</kbd>/<kbd>→</kbd> moves it to another column, <kbd>Alt</kbd>+<kbd>↑</kbd>/<kbd>↓</kbd> up or down, <kbd>Enter</kbd> edits, <kbd>Delete</kbd> deletes.</p>
</div>`,
  });
}
