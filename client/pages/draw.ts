// The /examples/draw page: a shared whiteboard on a typed Socket.
// Committed ink is painted once on an off-screen layer; strokes in progress (everyone's) are
// drawn on top of it each frame; remote cursors are DOM labels over the canvas.
import type { Entry, LiveStroke } from '../../server/features/draw/canvas';
import type { DrawProtocol } from '../../server/features/draw/protocol';
import type { ServerFrame } from '../../server/socket/protocol';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';
import { PresenceList } from '../presence';
import { showLostState, SnapshotSync, StateGeneration } from '../snapshot';

type Frame = ServerFrame<DrawProtocol>;
interface Stroke {
  name: string;
  color: string;
  size: number;
  points: number[];
}
interface Mine extends Stroke {
  id: string;
  /** Points already sent (as a count of numbers in `points`). */
  sent: number;
  ended: boolean;
}

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('draw');
const W = Number(root.dataset.width);
const H = Number(root.dataset.height);
const room = root.dataset.room ?? 'lobby';
const canvas = byId<HTMLCanvasElement>('canvas');
const view = canvas.getContext('2d')!;
const ink = document.createElement('canvas');
ink.width = W;
ink.height = H;
const inkCtx = ink.getContext('2d')!;
const statusEl = byId('status');
const cursorsEl = byId('cursors');
const usersEl = byId<HTMLUListElement>('users');
const infoEl = byId('info');
const colorInput = byId<HTMLInputElement>('color');
const nameInput = byId<HTMLInputElement>('name-input');

const flushMs = 50; // segments: about 20 a second while drawing
const cursorMs = 50; // cursor frames: at most 20 a second
const cursorTtlMs = 10_000; // a cursor not moved for this long is hidden
let limits = { maxSegmentPoints: 64, maxStrokePoints: 1000 };

// ---- state -------------------------------------------------------------------------------
let self = '';
let myUserId = '';
let version = 0;
let clears = 0;
let entryCount = 0;
let clearedBy: string | undefined;
const live = new Map<string, Stroke>(); // others' strokes in progress, by server key
const mine = new Map<string, Mine>(); // this page's strokes until their commit comes back, by id
let current: Mine | undefined; // the stroke under the pointer
// Re-rendered on every change; the whole list fetched again when names come back.
const people = new PresenceList({ fetch: () => socket.presence(''), onChange: () => renderUsers() });
let color = '#1d2330';
let size = 5;

// ---- socket ------------------------------------------------------------------------------
const savedName = root.dataset.name || localStorage.getItem('wsforge-name') || '';
nameInput.value = savedName;
const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: setStatus });
const socket = new Socket<DrawProtocol>({
  url: `${root.dataset.socket}?room=${encodeURIComponent(room)}${savedName ? `&name=${encodeURIComponent(savedName)}` : ''}`,
  onOpen: () => {
    connection.opened();
    setStatus('connected', 'connected');
    void snapshot.sync();
  },
  onClose: (code, reason, retryInMs) => connection.closed(code, reason, retryInMs),
  onMessage: (frame) => showNotice(frame) || snapshot.receive(frame),
  onError: (service, error) => {
    if (service !== 'socket') console.warn(`draw ${service}: ${error}`);
  },
});

function setStatus(state: string, text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

/**
 * The whole canvas, loaded on every connect and reconnect and after a missed version. Frames that
 * arrive meanwhile are applied on top of it: each one carries enough (versions, point offsets) to
 * be skipped when the snapshot already has it.
 */
const generation = new StateGeneration();
const snapshot = new SnapshotSync<Frame>({
  load: async () => {
    const s = await socket.request('', 'sync', {});
    if (generation.lost(s.generation)) showLostState(root, 'The server lost this canvas (it restarted without its data): showing what it has now.');
    self = s.self;
    myUserId = s.me.id;
    limits = s.limits;
    version = s.version;
    clears = s.clears;
    clearedBy = s.clearedBy;
    repaintInk(s.entries);
    live.clear();
    for (const l of s.live) if (!l.key.startsWith(`${self}:`)) live.set(l.key, strokeOf(l));
    // Ours from a previous connection were committed when it closed: the snapshot has them.
    for (const [id, m] of mine) if (m !== current) mine.delete(id);
    people.set(s.users);
  },
  apply,
  loaded: changed,
  canRetry: () => socket.connected,
  onError: (e) => console.warn(`draw sync failed: ${e.message}`),
});

const strokeOf = (l: LiveStroke): Stroke => ({ name: l.name, color: l.color, size: l.size, points: l.points.slice() });

function apply(frame: Frame): void {
  switch (frame.cmd) {
    case 'segment': {
      const p = frame.param;
      let s = live.get(p.key);
      if (!s) live.set(p.key, (s = { name: p.name, color: p.color, size: p.size, points: [] }));
      const have = s.points.length >> 1;
      // Points the snapshot already had are skipped; a gap (missed frames) is closed by the commit.
      const skip = Math.max(0, have - p.from);
      s.points.push(...p.points.slice(2 * skip));
      return changed();
    }
    case 'commit': {
      const { key, entry } = frame.param;
      live.delete(key);
      if (key.startsWith(`${self}:`)) mine.delete(key.slice(self.length + 1));
      if (frame.param.version <= version) return changed(); // already in the snapshot
      if (frame.param.version > version + 1) return void snapshot.sync(); // missed something
      version = frame.param.version;
      paintEntry(inkCtx, entry);
      entryCount++;
      return changed();
    }
    case 'clear': {
      if (frame.param.clears <= clears) return;
      clears = frame.param.clears;
      version = frame.param.version;
      clearedBy = frame.param.by;
      repaintInk([]);
      live.clear();
      for (const [id, m] of mine) if (m !== current) mine.delete(id);
      // The stroke being drawn goes on from where the pointer is now.
      if (current) {
        current.points = current.points.slice(-2);
        current.sent = 0;
      }
      return changed();
    }
    case 'cursor':
      return showCursor(frame.param);
    case 'cursor-gone':
      return removeCursor(frame.param.id);
    case 'presence-diff': {
      // Without names (a room above the server's list limit) cursors still go on cursor-gone or their timeout.
      for (const { userId } of frame.param.leaves) for (const [id, c] of cursors) if (c.userId === userId) removeCursor(id);
      return void people.apply(frame.param);
    }
    case 'error':
      return console.warn(`draw: ${frame.param.message}`);
  }
}

// ---- painting ----------------------------------------------------------------------------
function paintPath(ctx: CanvasRenderingContext2D, style: { color: string; size: number }, pts: readonly number[]): void {
  if (pts.length < 2) return;
  ctx.strokeStyle = ctx.fillStyle = style.color;
  ctx.lineWidth = style.size;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  if (pts.length === 2) {
    ctx.arc(pts[0]!, pts[1]!, style.size / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  ctx.moveTo(pts[0]!, pts[1]!);
  for (let i = 2; i + 1 < pts.length; i += 2) ctx.lineTo(pts[i]!, pts[i + 1]!);
  ctx.stroke();
}

function paintEntry(ctx: CanvasRenderingContext2D, e: Entry): void {
  for (const p of e.paths) paintPath(ctx, e, p);
}

function repaintInk(entries: Entry[]): void {
  inkCtx.fillStyle = '#ffffff';
  inkCtx.fillRect(0, 0, W, H);
  for (const e of entries) paintEntry(inkCtx, e);
  entryCount = entries.length;
}

let frameRequested = false;
function changed(): void {
  infoEl.textContent = `Canvas version ${version} · ${entryCount} ${entryCount === 1 ? 'entry' : 'entries'}${clearedBy ? ` · last cleared by ${clearedBy}` : ''}`;
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    view.drawImage(ink, 0, 0);
    for (const s of live.values()) paintPath(view, s, s.points);
    for (const s of mine.values()) paintPath(view, s, s.points);
    // Set once painted: data-version names the canvas the view shows (tests wait on it).
    root.dataset.version = String(version);
  });
}

// ---- drawing -----------------------------------------------------------------------------
function toCanvas(e: PointerEvent | MouseEvent): [number, number] {
  const r = canvas.getBoundingClientRect();
  const x = Math.round(((e.clientX - r.left) * W) / r.width);
  const y = Math.round(((e.clientY - r.top) * H) / r.height);
  return [Math.min(W, Math.max(0, x)), Math.min(H, Math.max(0, y))];
}

const newId = () => Math.random().toString(36).slice(2, 12);

function startStroke(x: number, y: number): void {
  current = { id: newId(), name: '', color, size, points: [x, y], sent: 0, ended: false };
  mine.set(current.id, current);
  changed();
}

function addPoint(x: number, y: number): void {
  if (!current) return;
  const n = current.points.length;
  if (current.points[n - 2] === x && current.points[n - 1] === y) return;
  if (n >> 1 >= limits.maxStrokePoints) {
    // Long strokes are cut into strokes of at most maxStrokePoints, joined at a shared point.
    const [lx, ly] = current.points.slice(-2) as [number, number];
    endStroke();
    startStroke(lx, ly);
  }
  current.points.push(x, y);
  changed();
}

/** Sends the points not sent yet, in segments of at most maxSegmentPoints. */
function flush(end = false): void {
  if (!current) return;
  const s = current;
  do {
    const chunk = s.points.slice(s.sent, s.sent + 2 * limits.maxSegmentPoints);
    s.sent += chunk.length;
    const last = s.sent >= s.points.length;
    if (chunk.length === 0 && !end) return;
    socket.send({ channel: '', cmd: 'segment', param: { id: s.id, color: s.color, size: s.size, points: chunk, ...(end && last ? { end: true } : {}) } });
  } while (s.sent < s.points.length);
}

function endStroke(): void {
  if (!current) return;
  flush(true);
  current.ended = true;
  current = undefined;
}

let flushTimer: ReturnType<typeof setInterval> | undefined;
canvas.addEventListener('pointerdown', (e) => {
  if (e.button !== 0) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  startStroke(...toCanvas(e));
  flushTimer = setInterval(() => flush(), flushMs);
});
canvas.addEventListener('pointermove', (e) => {
  moveCursor(e);
  if (!current) return;
  const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
  for (const c of events.length ? events : [e]) addPoint(...toCanvas(c));
});
const stop = () => {
  clearInterval(flushTimer);
  endStroke();
};
canvas.addEventListener('pointerup', stop);
canvas.addEventListener('pointercancel', stop);
canvas.addEventListener('pointerleave', () => {
  if (!current) socket.send({ channel: '', cmd: 'cursor-out', param: {} });
});

// ---- cursors -----------------------------------------------------------------------------
let cursorAt = 0;
let cursorTimer: ReturnType<typeof setTimeout> | undefined;
let cursorPos: [number, number] | undefined;
/** Throttled: at most one cursor frame per cursorMs, the latest position always sent. */
function moveCursor(e: PointerEvent): void {
  cursorPos = toCanvas(e);
  const wait = cursorAt + cursorMs - performance.now();
  if (wait > 0) {
    cursorTimer ??= setTimeout(sendCursor, wait);
    return;
  }
  sendCursor();
}
function sendCursor(): void {
  cursorTimer = undefined;
  if (!cursorPos || !socket.connected) return;
  cursorAt = performance.now();
  socket.send({ channel: '', cmd: 'cursor', param: { x: cursorPos[0], y: cursorPos[1] } });
}

const cursors = new Map<string, { el: HTMLElement; userId: string; x: number; y: number; timer: ReturnType<typeof setTimeout> }>();
function showCursor(p: { id: string; userId: string; name: string; x: number; y: number }): void {
  let c = cursors.get(p.id);
  if (!c) {
    const el = document.createElement('div');
    el.className = 'cursor';
    const label = document.createElement('span');
    el.append(label);
    cursorsEl.append(el);
    c = { el, userId: p.userId, x: 0, y: 0, timer: setTimeout(() => {}, 0) };
    cursors.set(p.id, c);
    el.style.setProperty('--c', userColor(p.userId));
  }
  c.el.firstElementChild!.textContent = p.name;
  c.x = p.x;
  c.y = p.y;
  placeCursor(c);
  clearTimeout(c.timer);
  c.timer = setTimeout(() => removeCursor(p.id), cursorTtlMs);
}
function placeCursor(c: { el: HTMLElement; x: number; y: number }): void {
  const scale = canvas.clientWidth / W;
  c.el.style.transform = `translate(${c.x * scale}px, ${c.y * scale}px)`;
}
function removeCursor(id: string): void {
  const c = cursors.get(id);
  if (!c) return;
  clearTimeout(c.timer);
  c.el.remove();
  cursors.delete(id);
}
new ResizeObserver(() => cursors.forEach(placeCursor)).observe(canvas);

/** A colour per user, dark enough at every hue for the white name on the cursor (at least 4.5:1). */
function userColor(id: string): string {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 70% 28%)`;
}

function renderUsers(): void {
  // Above the server's list limit diffs carry the count only: show it instead of names.
  if (!people.listed) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = `${people.count} ${people.count === 1 ? 'user' : 'users'}`;
    return usersEl.replaceChildren(li);
  }
  usersEl.replaceChildren(
    ...[...people.users].map(([id, name]) => {
      const li = document.createElement('li');
      const dot = document.createElement('span');
      dot.className = 'user-dot';
      dot.style.background = userColor(id);
      li.append(dot, document.createTextNode(name));
      if (id === myUserId) {
        const you = document.createElement('span');
        you.className = 'muted';
        you.textContent = '(you)';
        li.append(you);
      }
      return li;
    }),
  );
}

// ---- toolbar -----------------------------------------------------------------------------
const swatches = [...document.querySelectorAll<HTMLButtonElement>('.swatch')];
for (const b of swatches) {
  b.style.background = b.dataset.color!;
  b.addEventListener('click', () => pickColor(b.dataset.color!));
}
colorInput.addEventListener('input', () => pickColor(colorInput.value));
function pickColor(c: string): void {
  color = c;
  colorInput.value = c;
  for (const b of swatches) b.setAttribute('aria-checked', String(b.dataset.color === c));
}
const sizeButtons = [...document.querySelectorAll<HTMLButtonElement>('.size-btn')];
for (const b of sizeButtons) {
  b.addEventListener('click', () => {
    size = Number(b.dataset.size);
    for (const o of sizeButtons) o.setAttribute('aria-checked', String(o === b));
  });
}
byId('clear').addEventListener('click', async () => {
  if (!confirm('Clear the canvas for everyone in this room?')) return;
  try {
    await socket.request('', 'clear', {});
  } catch (e) {
    console.warn(`clear failed: ${(e as Error).message}`);
  }
});
byId('name-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = nameInput.value.trim();
  localStorage.setItem('wsforge-name', name);
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  if (name) url.searchParams.set('name', name);
  else url.searchParams.delete('name');
  location.assign(url.href); // the name is part of the socket's identity: reconnect with it
});

repaintInk([]);
changed();
