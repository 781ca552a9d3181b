import { html } from '../html';
import { layout } from '../layout';

export interface ChatPageData {
  room: string;
  /** Display name from `?name=` (already cleaned), or '' to let the server pick a guest name. */
  name: string;
  socketsEnabled: boolean;
}

/** The chat example. Behaviour lives in client/pages/chat.ts; data comes in data- attributes. */
export function chatPage(d: ChatPageData): string {
  return layout({
    title: `Chat · ${d.room}`,
    active: 'examples',
    styles: ['/css/chat.css'],
    scripts: d.socketsEnabled ? ['/js/pages/chat.js'] : [],
    body: html`<div id="chat" class="chat-app" data-room="${d.room}" data-name="${d.name}">
<header class="chat-head">
  <h1>Chat <small>multi-room, live presence, private messages</small></h1>
  <span id="status" class="chat-status" data-state="connecting" role="status">connecting…</span>
</header>
${d.socketsEnabled ? '' : html`<p class="notice">WebSockets are disabled (WS_ENABLED=false): the chat cannot connect.</p>`}
<div class="chat-grid">
  <section class="chat-main" aria-label="Conversation">
    <div class="chat-main-head">
      <h2 id="room-title"># ${d.room}</h2>
      <form id="nick-form" class="chat-inline-form chat-nick">
        <label for="nick-input">Your name</label>
        <input id="nick-input" maxlength="32" value="${d.name}" autocomplete="nickname" aria-describedby="nick-error">
        <button type="submit" class="secondary">Rename</button>
      </form>
    </div>
    <p id="nick-error" class="chat-error" hidden></p>
    <ol id="messages" class="chat-messages" aria-live="polite"></ol>
    <div id="typing" class="chat-typing" aria-live="polite"></div>
    <div id="pm-bar" class="chat-pm-bar" hidden>
      Private message to <strong id="pm-name"></strong>
      <button id="pm-cancel" type="button" class="secondary" aria-label="Cancel private message">Cancel</button>
    </div>
    <form id="message-form" class="chat-compose">
      <input id="message-input" maxlength="2000" placeholder="Message # ${d.room}" autocomplete="off" aria-label="Message">
      <button type="submit">Send</button>
    </form>
    <p id="send-error" class="chat-error" hidden></p>
  </section>
  <aside class="chat-side" aria-label="Rooms and people">
    <section class="chat-card">
      <h2>Rooms</h2>
      <ul id="room-list" class="chat-rooms"></ul>
      <form id="room-form" class="chat-inline-form">
        <input id="room-input" placeholder="new-room" maxlength="64" pattern="[A-Za-z0-9_\\-]{1,64}" title="1-64 letters, digits, _ or -" aria-label="New room name" autocomplete="off">
        <button type="submit">Create</button>
      </form>
      <p id="room-error" class="chat-error" hidden></p>
    </section>
    <section class="chat-card">
      <h2>In this room <span id="user-count" class="chat-count"></span></h2>
      <ul id="user-list" class="chat-users"></ul>
      <p class="chat-hint">Click someone to send them a private message.</p>
    </section>
  </aside>
</div>
</div>`,
  });
}
