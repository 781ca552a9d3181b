import { LANGUAGES, type Language } from '../../server/features/editor/limits';
import { html } from '../html';
import { layout } from '../layout';

const labels: Record<Language, string> = {
  javascript: 'JavaScript',
  typescript: 'TypeScript',
  python: 'Python',
  html: 'HTML',
  css: 'CSS',
  plain: 'Plain text',
};

/** The collaborative code editor. Behaviour lives in client/pages/editor.ts; data comes in data- attributes. */
export function editorPage(room: string, name: string): string {
  return layout({
    title: 'Code editor',
    active: 'examples',
    styles: ['/css/editor.css'],
    scripts: ['/js/pages/editor.js'],
    body: html`<div id="editor" class="editor-app" data-room="${room}" data-name="${name}">
<header class="ex-head">
  <h1>Code editor <small>room <code>${room}</code></small></h1>
  <span id="status" class="status-pill" data-state="connecting">connecting…</span>
</header>
<div class="editor-toolbar" role="toolbar" aria-label="Editor settings">
  <label class="editor-group">Language
    <select id="language" disabled>${LANGUAGES.map((l) => html`<option value="${l}">${labels[l]}</option>`)}</select>
  </label>
  <form id="name-form" class="editor-group">
    <label for="name-input">Name</label>
    <input id="name-input" maxlength="32" placeholder="your name" value="${name}" autocomplete="nickname">
  </form>
  <form class="editor-group" method="get" action="/examples/editor">
    <label for="room-input">Room</label>
    <input id="room-input" name="room" value="${room}" required maxlength="64" pattern="[A-Za-z0-9_\\-]{1,64}" title="1-64 letters, digits, _ or -">
    ${name ? html`<input type="hidden" name="name" value="${name}">` : ''}
    <button class="secondary">Open</button>
  </form>
  <ul id="people" class="editor-people" aria-label="People in this document"></ul>
</div>
<div id="code" class="editor-code"></div>
<footer class="editor-foot">
  <span id="stats" class="muted">—</span>
  <span id="notice" class="editor-notice" role="status" aria-live="polite"></span>
</footer>
<p class="muted small">Everyone in room <code>${room}</code> edits one document, a Yjs CRDT synchronised over wsforge frames: edits made at the same time merge, and someone who opens the page later gets the current text. Coloured carets show the others' cursors and selections; the language is shared.</p>
</div>`,
  });
}
