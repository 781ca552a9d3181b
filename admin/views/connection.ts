import { html } from '../../views/html';
import type { ConnectionStatus } from '../../server/socket';
import { adminPage, noticePanel, type Access } from './chrome';

/** /admin/sockets/conn/{id}: everything known (kept live), a notice and a send form, and the Disconnect button. */
export function connectionPage(access: Access, conn: ConnectionStatus): string {
  return adminPage(access, {
    title: `Session ${conn.id.slice(0, 8)}`,
    tab: 'overview',
    heading: html`Session <code>${conn.id}</code> <span class="badge" id="state">open</span>`,
    script: 'admin-connection',
    data: { conn: conn.id },
    body: html`<div class="split even">
<section class="panel">
  <header><h2>Details</h2></header>
  <dl class="details" id="details"></dl>
</section>
<div>
  ${noticePanel('Send a notice', 'The page shows it in a notice banner, as text: never as a chat line or as anyone\'s message.', 'Send notice')}
  <section class="panel">
    <header><h2>Send a frame</h2></header>
    <form id="send" class="stack">
      <label>channel <input name="channel" value="${conn.channel}" autocomplete="off"></label>
      <label>cmd <input name="cmd" required placeholder="headline" autocomplete="off"></label>
      <label>param (JSON) <textarea name="param" rows="4" spellcheck="false" placeholder='{"title": "hello"}'></textarea></label>
      <p class="hint">For an app's own cmds. The service's frames and the examples' own (a chat <code>message</code>, a card…) are refused: the page would show them as its content.</p>
      <div class="actions"><button>Send</button><output role="status"></output></div>
    </form>
  </section>
  <section class="panel danger">
    <header><h2>Disconnect</h2></header>
    <form id="kick" class="stack">
      <label>reason <input name="reason" value="disconnected by an admin" autocomplete="off"></label>
      <label class="check"><input type="checkbox" name="user"> every connection of this user (${conn.profile.name}), on every node</label>
      <p class="hint">The client gets <code>close-connection</code> with this reason, then close 4000, and does not reconnect. You are asked to confirm first.</p>
      <div class="actions"><button class="danger">Disconnect</button><output role="status"></output></div>
    </form>
  </section>
</div>
</div>`,
  });
}
