import { html } from './html';
import { layout } from './layout';

export function homePage(wsEnabled: boolean, socketRoutes: string[]): string {
  return layout({
    title: 'Home',
    active: 'home',
    body: html`<h1>wsforge</h1>
<p>A typed real-time service for Express: channels, presence, request/reply, reconnecting browser client.</p>
${wsEnabled ? html`<p>Socket routes: ${socketRoutes.map((r) => html`<code>${r}</code> `)}</p>` : html`<p class="notice">WebSockets are disabled (WS_ENABLED=false).</p>`}
<ul><li><a href="/example">Example</a>: ping/pong, chat in a channel, join a room.</li>
<li><a href="/examples">Live examples</a>: chat, whiteboard, kanban, code editor, system monitor, spreadsheet.</li></ul>`,
  });
}
