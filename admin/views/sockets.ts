import { html } from '../../views/html';
import { adminPage, tablePanel, type Access } from './chrome';

/** /admin/sockets: counters, channels and connections, filled and kept live by client/pages/admin-sockets.ts. */
export function socketsPage(access: Access, node: string): string {
  return adminPage(access, {
    title: 'Sockets',
    tab: 'overview',
    heading: html`Sockets <small>node <code>${node}</code></small>`,
    script: 'admin-sockets',
    body: html`<p class="notice" id="missing-nodes" hidden></p>
<section class="cards" id="counters" aria-label="Counters"></section>
<div class="split">
  ${tablePanel('connections', 'Connections', 'Search connections')}
  ${tablePanel('channels', 'Channels', 'Search channels')}
</div>`,
  });
}
