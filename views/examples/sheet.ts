import { html } from '../html';
import { layout } from '../layout';

export interface SheetPageOptions {
  room: string;
  /** The display name from `?name=`, passed on to the socket. */
  name: string;
  wsEnabled: boolean;
}

/** The collaborative spreadsheet; the grid is built and driven by client/pages/sheet.ts. */
export function sheetPage(o: SheetPageOptions): string {
  return layout({
    title: 'Spreadsheet',
    active: 'examples',
    styles: ['/css/sheet.css'],
    scripts: o.wsEnabled ? ['/js/pages/sheet.js'] : [],
    body: html`<div id="sheet" class="sheet-app" data-room="${o.room}" data-name="${o.name}">
  <header class="sheet-head">
    <h1>Spreadsheet <small>room <code>${o.room}</code></small></h1>
    <div class="sheet-meta">
      <form id="name-form" class="name-form"><input id="name-input" aria-label="Your name" maxlength="32" placeholder="your name" value="${o.name}" autocomplete="nickname"><button class="secondary">Set name</button></form>
      <ul id="people" class="people" aria-label="People in this sheet"></ul>
      <span id="status" class="pill">${o.wsEnabled ? 'connecting…' : 'WebSockets disabled'}</span>
    </div>
  </header>
  <div class="formula-bar">
    <span id="name-box" class="name-box" aria-label="Selected cell">A1</span>
    <span class="fx" aria-hidden="true">fx</span>
    <input id="formula" aria-label="Cell input" maxlength="500" autocomplete="off" spellcheck="false" placeholder="Number, text or =formula">
  </div>
  <div id="notice" class="sheet-notice" role="status" hidden></div>
  <div id="grid-wrap" class="grid-wrap" tabindex="0" aria-label="Sheet grid"><table id="grid" class="grid"></table></div>
  <p class="sheet-help">Select a cell and type a number, text or a formula — <code>=B2*3</code>, <code>=(A1+A2)/2</code>,
  <code>=SUM(A1:A10)</code>, <code>=AVG(B1:B5)</code>, <code>=MIN(…)</code>, <code>=MAX(…)</code>. Enter commits and moves down, Tab moves right,
  Esc cancels, Delete clears, double-click or F2 edits. A coloured outline shows where others are.</p>
</div>`,
  });
}
