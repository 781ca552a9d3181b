import { html } from '../html';
import { layout } from '../layout';

export interface DrawPageData {
  room: string;
  name: string;
  socketPath: string;
  width: number;
  height: number;
}

const palette = ['#1d2330', '#e03131', '#f08c00', '#2f9e44', '#1c7ed6', '#7048e8', '#d6336c', '#ffffff'];
const sizes: Array<[number, string]> = [
  [2, 'Fine'],
  [5, 'Medium'],
  [12, 'Thick'],
  [28, 'Marker'],
];

/** The shared whiteboard. Behaviour lives in client/pages/draw.ts; data comes in data- attributes. */
export function drawPage(d: DrawPageData): string {
  return layout({
    title: 'Whiteboard',
    active: 'examples',
    styles: ['/css/draw.css'],
    scripts: ['/js/pages/draw.js'],
    body: html`<div id="draw" class="draw-app" data-room="${d.room}" data-name="${d.name}" data-socket="${d.socketPath}" data-width="${d.width}" data-height="${d.height}">
<header class="ex-head">
  <h1>Whiteboard <small>room <code>${d.room}</code></small></h1>
  <span id="status" class="status-pill" data-state="connecting">connecting…</span>
</header>
<div class="draw-toolbar" role="toolbar" aria-label="Drawing tools">
  <div class="draw-group" role="radiogroup" aria-label="Colour">
    ${palette.map((c, i) => html`<button type="button" class="swatch" role="radio" aria-checked="${i === 0 ? 'true' : 'false'}" aria-label="Colour ${c}" data-color="${c}"></button>`)}
    <label class="swatch-custom" title="Any colour"><input id="color" type="color" value="${palette[0]}" aria-label="Custom colour"></label>
  </div>
  <div class="draw-group" role="radiogroup" aria-label="Size">
    ${sizes.map(([s, label], i) => html`<button type="button" class="size-btn" role="radio" aria-checked="${i === 1 ? 'true' : 'false'}" data-size="${s}" title="${label} (${s})"><span class="dot s${s}"></span></button>`)}
  </div>
  <form id="name-form" class="draw-group name-form">
    <label for="name-input">Name</label>
    <input id="name-input" maxlength="32" placeholder="your name" value="${d.name}" autocomplete="nickname">
  </form>
  <button id="clear" type="button" class="secondary danger">Clear for everyone</button>
</div>
<div class="draw-stage">
  <div id="board" class="draw-board">
    <canvas id="canvas" width="${d.width}" height="${d.height}" aria-label="Shared drawing canvas"></canvas>
    <div id="cursors" class="cursors" aria-hidden="true"></div>
  </div>
  <aside class="draw-side">
    <h2>Here now</h2>
    <ul id="users" class="user-list"></ul>
    <p id="info" class="muted small"></p>
  </aside>
</div>
<p class="muted small">Draw with the mouse, a pen or a finger. Everyone in room <code>${d.room}</code> sees each stroke as it is drawn; someone who opens the page later gets the whole canvas.</p>
</div>`,
  });
}
