import { html } from '../../views/html';
import { adminPage, noticePanel, tablePanel, type Access } from './chrome';

/** /admin/sockets/chan/{key}: members, and forms that send a notice or one frame to the whole channel. */
export function channelPage(access: Access, key: string): string {
  return adminPage(access, {
    title: `Channel ${key}`,
    tab: 'overview',
    heading: html`Channel <code>${key}</code>`,
    script: 'admin-channel',
    data: { channel: key },
    body: html`<p class="notice" id="missing-nodes" hidden></p>
<section class="cards" id="counters" aria-label="Counters"></section>
<div class="split even">
${noticePanel('Send a notice to every member', 'Every member\'s page shows it in a notice banner, as text: never as a chat line or as anyone\'s message.', 'Send notice to channel')}
<section class="panel">
  <header><h2>Send a frame to every member</h2></header>
  <form id="publish" class="stack">
    <label>cmd <input name="cmd" required placeholder="headline" autocomplete="off"></label>
    <label>param (JSON) <textarea name="param" rows="3" spellcheck="false" placeholder='{"title": "hello"}'></textarea></label>
    <p class="hint">For an app's own cmds. The service's frames and the examples' own are refused.</p>
    <div class="actions"><button>Send to channel</button><output role="status"></output></div>
  </form>
</section>
</div>
${tablePanel('members', 'Members', 'Search members')}`,
  });
}
