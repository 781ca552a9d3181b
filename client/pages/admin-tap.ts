// /admin/sockets/tap: frames in and out as the server batches them; filtered on the server,
// pausable, and never more than data-rows rows in the page.
import type { TapBatch } from '../../admin/snapshots';
import type { TapEntry } from '../../server/socket/tap';
import { adminSocket, byId, connLink, fmt, h, onInput, root } from '../admin';

const maxRows = Number(root.dataset.rows);
const filter = { channel: '', cmd: '', conn: '' };
let paused = false;
let dropped = 0;

const { watch } = adminSocket(
  () => (paused ? undefined : { view: 'tap', filter }),
  (frame) => {
    if (frame.cmd === 'tap') add(frame.param);
  },
);

const table = byId<HTMLTableElement>('tap');
table.createTHead().append(h('tr', null, ...['Time', 'Dir', 'Connection', 'Channel', 'Cmd', 'Size', 'Preview'].map((l) => h('th', null, l))));
const body = table.createTBody();
const stats = byId('tap-stats');

const form = byId<HTMLFormElement>('filter');
form.addEventListener('submit', (e) => e.preventDefault());
for (const name of ['channel', 'cmd', 'conn'] as const) {
  onInput(form.elements.namedItem(name) as HTMLInputElement, (text) => {
    filter[name] = text;
    watch();
    // The rows already shown follow the new filter too (hidden, not dropped: clearing it shows them again).
    for (const tr of body.rows) tr.hidden = !matches(tr);
    showStats();
  });
}
const pause = byId<HTMLButtonElement>('pause');
pause.addEventListener('click', () => {
  paused = !paused;
  pause.textContent = paused ? 'Resume' : 'Pause';
  watch();
  showStats();
});
byId('clear').addEventListener('click', () => {
  body.replaceChildren();
  dropped = 0;
  showStats();
});
showStats();

function add(batch: TapBatch): void {
  dropped += batch.dropped;
  // Newest on top; the oldest rows go once there are more than maxRows.
  for (const e of batch.entries) body.prepend(row(e));
  // Entries of a batch made under the previous filter.
  for (const tr of body.rows) if (!tr.hidden && !matches(tr)) tr.hidden = true;
  while (body.rows.length > maxRows) body.lastElementChild!.remove();
  showStats();
}

/** The server's rule (admin/tap-feed.ts): each filter that is set is a substring of the entry's field. */
function matches(tr: HTMLTableRowElement): boolean {
  const e = tr.dataset;
  return (!filter.channel || e.channel!.includes(filter.channel)) && (!filter.cmd || e.cmd!.includes(filter.cmd)) && (!filter.conn || e.conn!.includes(filter.conn));
}

function row(e: TapEntry): HTMLTableRowElement {
  return h(
    'tr',
    { class: e.dir, 'data-channel': e.channel, 'data-cmd': e.cmd, 'data-conn': e.conn ?? '' },
    h('td', null, `${fmt.time(e.time)}.${String(e.time % 1000).padStart(3, '0')}`),
    h('td', null, h('span', { class: `dir ${e.dir}` }, e.dir === 'in' ? '↓ in' : '↑ out')),
    h('td', null, e.conn ? connLink(e.conn) : h('span', { class: 'muted' }, e.target)),
    h('td', null, e.channel),
    h('td', null, h('code', null, e.cmd)),
    h('td', { class: 'num' }, fmt.bytes(e.size)),
    h('td', { class: 'preview', title: e.preview }, e.preview),
  );
}

function showStats(): void {
  const rows = body.rows.length;
  const hidden = [...body.rows].filter((tr) => tr.hidden).length;
  const parts = [`${fmt.count(rows)} row${rows === 1 ? '' : 's'} (at most ${fmt.count(maxRows)} kept)`];
  if (hidden) parts.push(`${fmt.count(hidden)} hidden by the filter`);
  if (dropped) parts.push(`${fmt.count(dropped)} dropped by the server's batch limit`);
  if (paused) parts.push('paused');
  stats.textContent = parts.join(' · ');
}
