import type { ExampleInfo } from '../../server/features/examples-index/examples';
import { html } from '../html';
import { layout } from '../layout';

export interface ExamplesIndexData {
  examples: readonly ExampleInfo[];
  socketsEnabled: boolean;
}

/** /examples: one card per live example, with Base Framework's old path beside it. */
export function examplesIndexPage(d: ExamplesIndexData): string {
  return layout({
    title: 'Examples',
    active: 'examples',
    styles: ['/css/examples.css'],
    body: html`<header class="examples-head">
  <h1>Live examples</h1>
  <p class="examples-lead">Each example is a feature controller (page route, socket route and typed handler) built only on wsforge's public API, so it doubles as a template.
  Open one in two browser windows: what one does appears in the other, and a window opened later gets the current state.</p>
</header>
${d.socketsEnabled ? '' : html`<p class="notice">WebSockets are disabled (WS_ENABLED=false): the pages load but cannot connect.</p>`}
<ul class="examples-grid">
${d.examples.map(
  (e) => html`  <li class="example-card">
    <a class="example-link" href="/examples/${e.name}">
      <span class="example-title">${e.title}</span>
      <span class="example-desc">${e.description}</span>
      <span class="example-paths"><code>/examples/${e.name}</code> <span class="example-alias">Base: <code>/static/${e.name}.html</code></span></span>
    </a>
  </li>
`,
)}</ul>
<section class="examples-compat">
  <h2>Base Framework compatibility</h2>
  <p>Clients written for Base Framework connect to <code>/api/ws?id=&amp;nickname=&amp;room=</code> or <code>/ws?channel=&amp;token=</code> and speak its
  <code>{type, content, room, nickname}</code> JSON. A codec translates their frames at the edge, so they share rooms with the chat page;
  Base's draw and editor pages share the whiteboard's canvas and the editor's document, and a Base page joining a room gets its state.
  Base's page paths <code>/static/</code> and <code>/static/&lt;name&gt;.html</code> redirect here.</p>
</section>`,
  });
}
