import { html } from './html';
import { layout } from './layout';

/** Forge's example page: ping/pong, chat in a channel, join-room. Behaviour lives in client/pages/example.ts. */
export function examplePage(channel: string): string {
  return layout({
    title: 'Example',
    active: 'example',
    scripts: ['/js/pages/example.js'],
    body: html`<h1>Example <small>channel <code>${channel}</code></small></h1>
<div id="example" data-channel="${channel}">
  <p>Status: <span id="status" role="status">connecting…</span> <span id="here" class="muted"></span> <button id="ping" type="button">Ping</button></p>
  <form id="chat-form" class="labelled"><label for="chat-input">Message</label><input id="chat-input" placeholder="Say something" maxlength="2000" autocomplete="off"><button>Send</button></form>
  <form id="join-form" class="labelled"><label for="join-input">Room</label><input id="join-input" placeholder="room-name" pattern="[\\w\\-]{1,64}" title="1-64 letters, digits, _ or -"><button>Join room</button></form>
  <ul id="log" class="log"></ul>
</div>`,
  });
}
