// Shared by the admin page scripts (client/pages/admin-*.ts): the admin socket, building DOM
// from data (always as text, never HTML: frames carry other people's input), tables and forms.
import type { Page, Query } from '../admin/paging';
import type { AdminProtocol } from '../admin/protocol';
import type { ClientParam, ServerFrame } from '../server/socket/protocol';
import type { ConnectionStatus } from '../server/socket/status';
import { Socket } from './socket';

export type AdminFrame = ServerFrame<AdminProtocol>;
export type WatchView = ClientParam<AdminProtocol, 'watch'>;

export const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
/** The page root; its data-* attributes carry the page's parameters. */
export const root = byId('admin');

/**
 * The admin socket. `view()` is sent again after every (re)connect, so pushes resume after an
 * outage; call `watch()` when the view changes. A view of `undefined` stops the pushes.
 */
export function adminSocket(view: () => WatchView | undefined, onFrame: (frame: AdminFrame) => void) {
  const live = byId('live');
  const show = (text: string, on: boolean) => {
    live.textContent = text;
    live.classList.toggle('on', on);
  };
  const url = root.dataset.socket!;
  /** Whether the current attempt opened: a close without it is a refused or failed connect. */
  let opened = false;
  /** Counts close events, so a late answer about an older attempt shows nothing. */
  let attempt = 0;
  const socket = new Socket<AdminProtocol>({
    url,
    onOpen: () => {
      opened = true;
      show('live', true);
      watch();
    },
    onMessage: onFrame,
    onClose: (code, reason, retryInMs) => {
      const wasOpen = opened;
      opened = false;
      const n = ++attempt;
      const retry = retryInMs === undefined ? '' : ' · reconnecting…';
      if (retryInMs === undefined) show(`closed (${code}${reason ? `: ${reason}` : ''})`, false);
      else show(wasOpen ? 'reconnecting…' : 'connecting…', false);
      // A browser never sees the HTTP answer to a refused upgrade: ask the server why.
      if (!wasOpen) {
        refusal(url).then((why) => {
          if (n === attempt && !opened && why) show(`${why}${retry}`, false);
        });
      }
    },
    onError: (_service, error) => show(error, false),
  });
  function watch(): void {
    const v = view();
    (v ? socket.request('', 'watch', v) : socket.request('', 'unwatch', {})).catch((err: Error) => show(err.message, false));
  }
  return { socket, watch };
}

/**
 * Why an upgrade of `url` would be refused now, e.g. "refused: HTTP 429 too many admin
 * connections from this address (…)", from a plain GET of the socket's path (admin/routes.ts);
 * undefined when it would be admitted (the failure was elsewhere).
 */
async function refusal(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { headers: { accept: 'text/plain' }, cache: 'no-store', credentials: 'same-origin', redirect: 'manual' });
    if (res.ok) return undefined;
    const text = (await res.text()).trim();
    return `refused: HTTP ${res.status}${text ? ` ${text}` : ''}`;
  } catch {
    return 'server unreachable';
  }
}

/**
 * Asks before a destructive action; true when confirmed. `what` says what will happen.
 */
export function confirmAction(what: string): boolean {
  return window.confirm(what);
}

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, value);
  for (const c of children) if (c) el.append(c);
  return el;
}

export const fmt = {
  count: (n: number) => n.toLocaleString('en'),
  bytes(n: number): string {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  },
  duration(ms: number): string {
    const s = Math.floor(ms / 1000);
    const [d, hr, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
    if (d) return `${d}d ${hr}h`;
    if (hr) return `${hr}h ${m}m`;
    return m ? `${m}m ${s % 60}s` : `${s % 60}s`;
  },
  time: (ms: number) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false }),
  ago: (ms: number) => `${fmt.duration(Math.max(0, Date.now() - ms))} ago`,
};

export const connLink = (id: string) => h('a', { href: `/admin/sockets/conn/${encodeURIComponent(id)}`, title: id, class: 'id' }, id.slice(0, 8));
export const channelLink = (key: string) => h('a', { href: `/admin/sockets/chan/${encodeURIComponent(key)}` }, key);

export interface Column<T> {
  label: string;
  cell: (row: T) => Child | Child[];
  /** e.g. `num` for right-aligned numbers. */
  className?: string;
}

/** Fills a table: its head once, its body with `rows` (or one line saying `empty`). */
export function renderTable<T>(table: HTMLTableElement, columns: Array<Column<T>>, rows: readonly T[], empty: string): void {
  if (!table.tHead) table.createTHead().append(h('tr', null, ...columns.map((c) => h('th', c.className ? { class: c.className } : null, c.label))));
  const body = table.tBodies[0] ?? table.createTBody();
  if (rows.length === 0) return body.replaceChildren(h('tr', null, h('td', { colspan: String(columns.length), class: 'empty' }, empty)));
  body.replaceChildren(
    ...rows.map((row) => h('tr', null, ...columns.map((c) => h('td', c.className ? { class: c.className } : null, ...[c.cell(row)].flat())))),
  );
}

const inOut = (messages: number, bytes: number) => [fmt.count(messages), h('span', { class: 'muted' }, ` · ${fmt.bytes(bytes)}`)];

/** The connection table's columns, on the overview and a channel's member list alike. */
export const connectionColumns: Array<Column<ConnectionStatus>> = [
  { label: 'Connection', cell: (c) => [connLink(c.id), h('div', { class: 'muted small' }, c.route)] },
  { label: 'User', cell: (c) => [h('span', { class: 'trunc', title: c.profile.name }, c.profile.name), h('span', { class: 'muted small trunc', title: c.profile.id }, c.profile.id)] },
  { label: 'Channels', cell: (c) => c.channels.flatMap((ch, i) => [i ? ', ' : '', channelLink(ch)]) },
  { label: 'Remote address', cell: (c) => c.remoteAddress },
  { label: 'User agent', cell: (c) => h('span', { class: 'ua', title: c.userAgent }, c.userAgent) },
  { label: 'Connected', cell: (c) => [fmt.time(c.started), h('div', { class: 'muted small' }, fmt.ago(c.started))] },
  { label: 'In', className: 'num', cell: (c) => inOut(c.messagesIn, c.bytesIn) },
  { label: 'Out', className: 'num', cell: (c) => inOut(c.messagesOut, c.bytesOut) },
];

/** "1–50 of 1,234" with Previous/Next; `go` gets the new offset. */
export function renderPager(nav: HTMLElement, page: Page<unknown>, go: (offset: number) => void): void {
  const button = (label: string, offset: number, enabled: boolean) => {
    const b = h('button', { type: 'button', class: 'secondary' }, label);
    b.disabled = !enabled;
    b.addEventListener('click', () => go(offset));
    return b;
  };
  const last = Math.min(page.offset + page.size, page.total);
  nav.replaceChildren(
    h('span', { class: 'muted' }, page.total ? `${fmt.count(page.offset + 1)}–${fmt.count(last)} of ${fmt.count(page.total)}` : '0 of 0'),
    button('‹ Previous', Math.max(0, page.offset - page.size), page.offset > 0),
    button('Next ›', page.offset + page.size, last < page.total),
  );
}

/** Counter cards: label over value. */
export function renderCards(section: HTMLElement, cards: Array<[label: string, value: string]>): void {
  section.replaceChildren(...cards.map(([label, value]) => h('div', { class: 'card' }, h('span', null, label), h('strong', null, value))));
}

/** Calls `change` with the trimmed text once typing pauses. */
export function onInput(input: HTMLInputElement, change: (text: string) => void, delayMs = 250): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => change(input.value.trim()), delayMs);
  });
}

/** A search box driving one table's query: a new search starts again from the first page. */
export function searchQuery(inputId: string, query: Query, changed: () => void): void {
  onInput(byId<HTMLInputElement>(inputId), (q) => {
    query.q = q;
    query.offset = 0;
    changed();
  });
}

/** The "Send a notice" form's fields as the `notice` frame's param, in JSON (the admin socket parses params from text). */
export function noticeParam(data: FormData): string {
  return JSON.stringify({ text: String(data.get('text')), level: String(data.get('level')) });
}

/**
 * Runs `act` on submit, with the button disabled meanwhile, and shows its result (or the
 * server's error, e.g. invalid JSON in param) in the form's <output>.
 */
export function onSubmit(form: HTMLFormElement, act: (data: FormData) => Promise<string>): void {
  const output = form.querySelector('output')!;
  const button = form.querySelector('button')!;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    output.className = '';
    output.textContent = '…';
    try {
      output.textContent = await act(new FormData(form));
      output.className = 'ok';
    } catch (err) {
      output.textContent = (err as Error).message;
      output.className = 'error';
    } finally {
      button.disabled = false;
    }
  });
}
