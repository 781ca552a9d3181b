// /admin/sockets: counters, channels and connections, pushed by the server every interval.
import type { Overview } from '../../admin/snapshots';
import type { ChannelStatus } from '../../server/socket/status';
import { adminSocket, byId, channelLink, connectionColumns, fmt, renderCards, renderPager, renderTable, searchQuery, type Column } from '../admin';

const query = { channels: { q: '', offset: 0 }, connections: { q: '', offset: 0 } };
const { watch } = adminSocket(
  () => ({ view: 'sockets', ...query }),
  (frame) => {
    if (frame.cmd === 'overview') render(frame.param);
  },
);
searchQuery('channels-search', query.channels, watch);
searchQuery('connections-search', query.connections, watch);

const channelColumns: Array<Column<ChannelStatus>> = [
  { label: 'Channel', cell: (c) => channelLink(c.key) },
  { label: 'Members', className: 'num', cell: (c) => fmt.count(c.members) },
  { label: 'Users', className: 'num', cell: (c) => fmt.count(c.users) },
];

function render(o: Overview): void {
  const c = o.counts;
  const missing = byId('missing-nodes');
  missing.hidden = o.missing.length === 0;
  missing.textContent = o.missing.length ? `Node ${o.missing.join(', ')} did not answer in time (CLUSTER_STATUS_TIMEOUT_MS): its connections and counts are not shown.` : '';
  renderCards(byId('counters'), [
    ...(o.nodes.length > 1 || o.missing.length ? [['Nodes', fmt.count(o.nodes.length)] as [string, string]] : []),
    ['Connections', fmt.count(c.connections)],
    ['Channels', fmt.count(c.channels)],
    ['Messages in', fmt.count(c.messagesIn)],
    ['Messages out', fmt.count(c.messagesOut)],
    ['Bytes in', fmt.bytes(c.bytesIn)],
    ['Bytes out', fmt.bytes(c.bytesOut)],
    ['Errors', fmt.count(c.errors)],
    ['Uptime', fmt.duration(o.uptimeMs)],
  ]);
  // The server moves the offset back when the list shrank under the page being shown.
  query.channels.offset = o.channels.offset;
  query.connections.offset = o.connections.offset;
  renderTable(byId<HTMLTableElement>('channels'), channelColumns, o.channels.rows, query.channels.q ? 'No matching channel' : 'No channels');
  renderPager(byId('channels-pager'), o.channels, (offset) => {
    query.channels.offset = offset;
    watch();
  });
  renderTable(byId<HTMLTableElement>('connections'), connectionColumns, o.connections.rows, query.connections.q ? 'No matching connection' : 'No connections');
  renderPager(byId('connections-pager'), o.connections, (offset) => {
    query.connections.offset = offset;
    watch();
  });
}
