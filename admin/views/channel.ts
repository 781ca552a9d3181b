import { html } from '../../views/html';
import { adminPage, tablePanel, type Access } from './chrome';

/** /admin/sockets/chan/{key}: members, and a form that sends one frame to the whole channel. */
export function channelPage(access: Access, key: string): string {
  return adminPage(access, {
    title: `Channel ${key}`,
    tab: 'overview',
    heading: html`Channel <code>${key}</code>`,
    script: 'admin-channel',
    data: { channel: key },
    body: html`<p class="notice" id="missing-nodes" hidden></p>
<section class="cards" id="counters" aria-label="Counters"></section>
<section class="panel">
  <header><h2>Send to every member</h2></header>
  <form id="publish" class="stack">
    <label>cmd <input name="cmd" required placeholder="notice" autocomplete="off"></label>
    <label>param (JSON) <textarea name="param" rows="3" spellcheck="false" placeholder='{"text": "hello"}'></textarea></label>
    <div class="actions"><button>Send to channel</button><output role="status"></output></div>
  </form>
</section>
${tablePanel('members', 'Members', 'Search members')}`,
  });
}
