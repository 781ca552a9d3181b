// The /examples/chat page: rooms, people, typing, private messages and nicknames on a typed Socket.
// Every piece of user text goes into the page with textContent, never as HTML.
import type { ChatProtocol } from '../../server/features/chat/protocol';
import { roomChannel, roomPattern, TypingSet, typingText, type ChatMessage, type ChatUser } from '../../server/features/chat/chat';
import type { ServerFrame } from '../../server/socket/protocol';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';
import { showLostState, StateGeneration } from '../snapshot';

type Frame = ServerFrame<ChatProtocol>;
type Param<K extends Frame['cmd']> = Extract<Frame, { cmd: K }>['param'];

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('chat');
const statusEl = byId('status');
const roomList = byId<HTMLUListElement>('room-list');
const roomForm = byId<HTMLFormElement>('room-form');
const roomInput = byId<HTMLInputElement>('room-input');
const roomError = byId('room-error');
const userList = byId<HTMLUListElement>('user-list');
const userCount = byId('user-count');
const roomTitle = byId('room-title');
const nickForm = byId<HTMLFormElement>('nick-form');
const nickInput = byId<HTMLInputElement>('nick-input');
const nickError = byId('nick-error');
const messages = byId<HTMLOListElement>('messages');
const typingEl = byId('typing');
const pmBar = byId('pm-bar');
const pmName = byId('pm-name');
const messageForm = byId<HTMLFormElement>('message-form');
const messageInput = byId<HTMLInputElement>('message-input');
const sendError = byId('send-error');

/** Typing frames are refreshed this often while typing, and a stop is sent after this much idle. */
const TYPING_REFRESH_MS = 1500;
const TYPING_IDLE_MS = 2500;

let room = root.dataset.room ?? 'general';
let nameParam = root.dataset.name ?? '';
let me: ChatUser | undefined;
let users: ChatUser[] = [];
/** How many users the room has: more than `users` holds when the server sends the count alone (a big room). */
let userTotal = 0;
let rooms: Param<'rooms'>['rooms'] = [];
let pmTarget: ChatUser | undefined;
let typingTtlMs = 4000;
const typing = new TypingSet();
let typingTimer: ReturnType<typeof setTimeout> | undefined;
let socket: Socket<ChatProtocol> | undefined;
/** The server's state generation: another one on a reconnect means it lost rooms and history. */
const generation = new StateGeneration();

// ---- rendering -------------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const clock = (time: number) => new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const shortId = (id: string) => `#${id.replace(/^base-/, '').slice(0, 6)}`;

function setStatus(state: 'connecting' | 'connected' | 'reconnecting' | 'closed', text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function showError(target: HTMLElement, text: string | undefined): void {
  target.hidden = !text;
  target.textContent = text ?? '';
}

/** Appends to the conversation, keeping it scrolled to the bottom when it already was. */
function append(...items: HTMLElement[]): void {
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.append(...items);
  while (messages.childElementCount > 500) messages.firstElementChild!.remove();
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

function messageItem(m: ChatMessage): HTMLLIElement {
  const li = el('li', m.userId === me?.id ? 'msg mine' : 'msg');
  li.dataset.id = m.id;
  const who = el('span', 'msg-who', m.name);
  who.title = m.userId;
  li.append(el('time', 'msg-time', clock(m.time)), who, el('span', 'msg-text', m.text));
  return li;
}

function systemItem(text: string, time: number): HTMLLIElement {
  const li = el('li', 'msg system');
  li.append(el('time', 'msg-time', clock(time)), el('span', 'msg-text', text));
  return li;
}

function privateItem(p: Param<'private'>): HTMLLIElement {
  const mine = p.from.id === me?.id;
  const li = el('li', mine ? 'msg private mine' : 'msg private');
  const who = el('span', 'msg-who', mine ? `you → ${p.to.name}` : `${p.from.name} → you`);
  who.title = mine ? p.to.id : p.from.id;
  li.append(el('time', 'msg-time', clock(p.time)), who, el('span', 'msg-badge', 'private'), el('span', 'msg-text', p.text));
  if (!mine) {
    const reply = el('button', 'msg-reply link', 'reply');
    reply.type = 'button';
    reply.addEventListener('click', () => setPmTarget(p.from));
    li.append(reply);
  }
  return li;
}

function renderUsers(): void {
  if (users.length === 0 && userTotal > 0) {
    // Above the server's list limit it sends the count alone.
    userList.replaceChildren(el('li', 'muted', `${userTotal} users: too many to list`));
    userCount.textContent = String(userTotal);
    return;
  }
  userList.replaceChildren(
    ...users.map((u) => {
      const li = el('li');
      const b = el('button', 'chat-user');
      b.type = 'button';
      b.dataset.userId = u.id;
      const isMe = u.id === me?.id;
      b.append(el('span', 'chat-avatar', (u.name.trim()[0] ?? '?').toUpperCase()), el('span', 'chat-user-name', u.name), el('span', 'chat-user-id', shortId(u.id)));
      if (isMe) b.append(el('span', 'chat-you', 'you'));
      b.disabled = isMe;
      b.title = isMe ? 'This is you' : `Send ${u.name} a private message`;
      if (pmTarget?.id === u.id) b.classList.add('selected');
      b.addEventListener('click', () => setPmTarget(u));
      li.append(b);
      return li;
    }),
  );
  userCount.textContent = String(userTotal);
}

function renderRooms(): void {
  roomList.replaceChildren(
    ...rooms.map((r) => {
      const li = el('li');
      const b = el('button', r.name === room ? 'chat-room current' : 'chat-room');
      b.type = 'button';
      b.dataset.room = r.name;
      b.append(el('span', 'chat-room-name', `# ${r.name}`), el('span', 'chat-count', String(r.users)));
      if (r.name === room) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', () => switchRoom(r.name));
      li.append(b);
      return li;
    }),
  );
}

let typingRefresh: ReturnType<typeof setTimeout> | undefined;
/** Shows who is typing and re-renders when the next indicator expires. */
function renderTyping(): void {
  clearTimeout(typingRefresh);
  const now = Date.now();
  typingEl.textContent = typingText(typing.names(now));
  const next = typing.nextExpiry();
  if (next !== undefined) typingRefresh = setTimeout(renderTyping, Math.max(50, next - now + 10));
}

function setPmTarget(u: ChatUser | undefined): void {
  pmTarget = u && u.id !== me?.id ? u : undefined;
  pmBar.hidden = !pmTarget;
  pmName.textContent = pmTarget?.name ?? '';
  messageInput.placeholder = pmTarget ? `Private message to ${pmTarget.name}` : `Message # ${room}`;
  messageForm.classList.toggle('private', !!pmTarget);
  renderUsers();
  messageInput.focus();
}

// ---- sending -------------------------------------------------------------------------------

/**
 * A message of ours on its way: shown at once as "sending…" (offline too: the Socket sends it,
 * retry-safe, on the next connection), replaced by the server's line when that arrives; a
 * request that failed stays, with the reason, and its text goes back to the input.
 */
interface Outgoing {
  readonly text: string;
  /** Sent with `say` and carried by the message: matches it live and in a re-sent history. Private messages have none. */
  readonly clientMsgId?: string;
  readonly li: HTMLLIElement;
  /** The server acknowledged it: it waits only for its line. */
  acked: boolean;
}
const outgoing: Outgoing[] = [];

function outgoingItem(text: string, to: ChatUser | undefined): HTMLLIElement {
  const li = el('li', to ? 'msg private mine pending' : 'msg mine pending');
  li.dataset.state = 'sending';
  const who = el('span', 'msg-who', to ? `you → ${to.name}` : (me?.name ?? 'you'));
  li.append(el('time', 'msg-time', clock(Date.now())), who, el('span', 'msg-badge msg-sending', 'sending…'), el('span', 'msg-text', text));
  return li;
}

/** Our message's line from the server takes the place of its "sending…" one. */
function takeOutgoing(m: { text: string; clientMsgId?: string }, line: HTMLLIElement): boolean {
  const i = outgoing.findIndex((o) => (m.clientMsgId ? o.clientMsgId === m.clientMsgId : o.clientMsgId === undefined && o.text === m.text));
  if (i < 0) return false;
  const [o] = outgoing.splice(i, 1);
  if (o!.li.isConnected) o!.li.replaceWith(line);
  else append(line);
  return true;
}

/** Random enough to be unique among one user's pages; crypto.randomUUID needs a secure context, this does not. */
function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sendMessage(text: string, to: ChatUser | undefined): Promise<void> {
  const s = socket!;
  const o: Outgoing = { text, li: outgoingItem(text, to), acked: false, ...(to ? {} : { clientMsgId: newClientMsgId() }) };
  outgoing.push(o);
  append(o.li);
  try {
    if (to) await s.request('', 'private', { to: to.id, text }, { retry: true });
    else await s.request('', 'say', { text, clientMsgId: o.clientMsgId }, { retry: true });
    o.acked = true;
    o.li.dataset.state = 'sent';
    o.li.classList.remove('pending');
    o.li.querySelector('.msg-sending')?.remove();
  } catch (err) {
    const i = outgoing.indexOf(o);
    if (i >= 0) outgoing.splice(i, 1);
    const why = (err as Error).message;
    o.li.dataset.state = 'failed';
    o.li.classList.remove('pending');
    const badge = o.li.querySelector('.msg-sending');
    if (badge) badge.textContent = `not sent: ${why}`;
    if (s !== socket) o.li.remove();
    if (!messageInput.value) messageInput.value = text;
    showError(sendError, `Not sent: ${why}. Your text is back in the box.`);
  }
}

// ---- frames ----------------------------------------------------------------------------------

function onFrame(f: Frame): void {
  const inRoom = f.channel === roomChannel(room);
  switch (f.cmd) {
    case 'state': {
      // On every (re)connect: everything is redrawn from the server's state.
      const s = f.param;
      if (generation.lost(s.generation)) showLostState(root, 'The server lost the chat history (it restarted without its data): showing what it has now.');
      me = s.you;
      users = s.users;
      userTotal = s.userCount;
      rooms = s.rooms;
      typingTtlMs = s.typingTtlMs;
      typing.clear();
      // Acknowledged messages of ours are in the history now, and so are those delivered while
      // their reply was lost (their clientMsgId is there); those still sending stay after it.
      const delivered = new Set(s.history.map((m) => m.clientMsgId));
      for (let i = outgoing.length - 1; i >= 0; i--) if (outgoing[i]!.acked || delivered.has(outgoing[i]!.clientMsgId)) outgoing.splice(i, 1);
      messages.replaceChildren(...s.history.map(messageItem), ...outgoing.map((o) => o.li));
      messages.scrollTop = messages.scrollHeight;
      if (document.activeElement !== nickInput) nickInput.value = me.name;
      if (pmTarget && users.length > 0 && !users.some((u) => u.id === pmTarget!.id)) setPmTarget(undefined);
      renderUsers();
      renderRooms();
      renderTyping();
      break;
    }
    case 'message':
      if (!inRoom) break;
      typing.delete(f.param.userId);
      renderTyping();
      if (f.param.userId === me?.id && takeOutgoing(f.param, messageItem(f.param))) break;
      append(messageItem(f.param));
      break;
    case 'system':
      if (inRoom) append(systemItem(f.param.text, f.param.time));
      break;
    case 'users':
      if (!inRoom) break;
      users = f.param.users;
      userTotal = f.param.count;
      renderUsers();
      break;
    case 'typing':
      if (!inRoom || f.param.userId === me?.id) break;
      typing.set(f.param.userId, f.param.name, f.param.typing, Date.now(), f.param.ttlMs || typingTtlMs);
      renderTyping();
      break;
    case 'private':
      if (f.param.from.id === me?.id && takeOutgoing({ text: f.param.text }, privateItem(f.param))) break;
      append(privateItem(f.param));
      break;
    case 'rooms':
      rooms = f.param.rooms;
      renderRooms();
      break;
    case 'you':
      me = f.param;
      if (document.activeElement !== nickInput) nickInput.value = me.name;
      renderUsers();
      break;
    default:
      // presence-diff (chat sends users/system with nicknames instead), base (Base pages' frames), errors (shown by requests).
      break;
  }
}

// ---- connection ------------------------------------------------------------------------------

function socketUrl(): string {
  const q = new URLSearchParams({ room });
  if (nameParam) q.set('name', nameParam);
  return `/examples/chat/socket?${q}`;
}

/** One Socket per room: switching rooms closes it and opens the next (the server keeps the rest). */
const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: setStatus });

function connect(): void {
  socket?.disconnect();
  setStatus('connecting', 'connecting…');
  const s: Socket<ChatProtocol> = new Socket<ChatProtocol>({
    url: socketUrl(),
    onOpen: () => {
      if (s !== socket) return;
      connection.opened();
      setStatus('connected', 'connected');
    },
    onClose: (code, reason, retryInMs) => s === socket && connection.closed(code, reason, retryInMs),
    onMessage: (f) => s === socket && !showNotice(f) && onFrame(f),
    onError: (service, error) => {
      if (s === socket && service === 'server') showError(sendError, error);
    },
  });
  socket = s;
}

function switchRoom(next: string, push = true): void {
  if (next === room || !roomPattern.test(next)) return;
  room = next;
  users = [];
  userTotal = 0;
  outgoing.length = 0;
  typing.clear();
  setPmTarget(undefined);
  messages.replaceChildren();
  roomTitle.textContent = `# ${room}`;
  document.title = `Chat · ${room} · wsforge`;
  root.dataset.room = room;
  renderRooms();
  renderTyping();
  showError(sendError, undefined);
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  if (push) history.pushState({ room }, '', url);
  connect();
}

addEventListener('popstate', () => {
  const r = new URL(location.href).searchParams.get('room') ?? 'general';
  switchRoom(r, false);
});

// ---- input -----------------------------------------------------------------------------------

let lastTypingSent = 0;
function stopTyping(send: boolean): void {
  clearTimeout(typingTimer);
  typingTimer = undefined;
  if (send && lastTypingSent) socket?.send({ channel: '', cmd: 'typing', param: { typing: false } });
  lastTypingSent = 0;
}

messageInput.addEventListener('input', () => {
  if (!messageInput.value.trim() || pmTarget) return stopTyping(true);
  const now = Date.now();
  // Debounced: one frame when typing starts, a refresh every TYPING_REFRESH_MS, a stop after TYPING_IDLE_MS idle.
  if (now - lastTypingSent >= TYPING_REFRESH_MS) {
    lastTypingSent = now;
    socket?.send({ channel: '', cmd: 'typing', param: { typing: true } });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
});
messageInput.addEventListener('blur', () => stopTyping(true));
messageInput.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && pmTarget) setPmTarget(undefined);
});

messageForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = messageInput.value.trim();
  if (!text || !socket) return;
  stopTyping(false); // the message itself clears the indicator for everyone
  messageInput.value = '';
  showError(sendError, undefined);
  await sendMessage(text, pmTarget);
});

byId('pm-cancel').addEventListener('click', () => setPmTarget(undefined));

roomForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = roomInput.value.trim();
  if (!roomPattern.test(name)) return showError(roomError, 'Room names are 1-64 letters, digits, _ or -');
  showError(roomError, undefined);
  try {
    await socket!.request('', 'create-room', { room: name });
    roomInput.value = '';
    switchRoom(name);
  } catch (err) {
    showError(roomError, (err as Error).message);
  }
});

nickForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  showError(nickError, undefined);
  try {
    const { name } = await socket!.request('', 'nick', { name: nickInput.value });
    nickInput.value = name;
    nameParam = name;
    const url = new URL(location.href);
    url.searchParams.set('name', name);
    history.replaceState(history.state, '', url);
    nickInput.blur();
  } catch (err) {
    showError(nickError, (err as Error).message);
  }
});

connect();
