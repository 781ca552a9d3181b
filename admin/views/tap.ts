import { html } from '../../views/html';
import { adminPage, type Access } from './chrome';

/** /admin/sockets/tap: live frames in and out, filtered on the server, at most `rows` kept in the browser. */
export function tapPage(access: Access, rows: number): string {
  return adminPage(access, {
    title: 'Tap',
    tab: 'tap',
    heading: html`Tap <small>every frame in and out, live</small>`,
    script: 'admin-tap',
    data: { rows },
    body: html`<form id="filter" class="toolbar" role="search">
  <input name="channel" placeholder="channel" aria-label="Filter by channel" autocomplete="off">
  <input name="cmd" placeholder="cmd" aria-label="Filter by cmd" autocomplete="off">
  <input name="conn" placeholder="connection id" aria-label="Filter by connection" autocomplete="off">
  <button type="button" id="pause" class="secondary">Pause</button>
  <button type="button" id="clear" class="secondary">Clear</button>
  <span class="muted" id="tap-stats"></span>
</form>
<section class="panel">
  <div class="scroll tall" tabindex="0" role="region" aria-label="Traffic"><table class="grid mono" id="tap"></table></div>
</section>`,
  });
}
