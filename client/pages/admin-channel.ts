// /admin/sockets/chan/{key}: the channel's members, live, and sending one frame to all of them.
import type { ChannelSnapshot } from '../../admin/snapshots';
import { adminSocket, byId, connectionColumns, fmt, noticeParam, onSubmit, renderCards, renderPager, renderTable, root, searchQuery } from '../admin';

const key = root.dataset.channel!;
const members = { q: '', offset: 0 };
const { socket, watch } = adminSocket(
  () => ({ view: 'channel', key, members }),
  (frame) => {
    if (frame.cmd === 'channel') render(frame.param);
  },
);
searchQuery('members-search', members, watch);

onSubmit(byId<HTMLFormElement>('notice'), (data) => publish('notice', noticeParam(data)));
onSubmit(byId<HTMLFormElement>('publish'), (data) => publish(String(data.get('cmd')), String(data.get('param'))));

/** One frame to every member; answers how many got it, as far as the cluster status tells. */
async function publish(cmd: string, param: string): Promise<string> {
  const reply = await socket.request('', 'publish', { channel: key, cmd, param, count: true });
  const members = (n: number) => `${fmt.count(n)} member${n === 1 ? '' : 's'}`;
  const elsewhere = reply.elsewhere ?? 0;
  const missing = reply.missing?.length ? ` Node ${reply.missing.join(', ')} did not answer: its members are not counted.` : '';
  // One node: "Sent to 2 members." A cluster: the total as far as the cluster status tells.
  if (!elsewhere && !missing) return `Sent to ${members(reply.members)}.`;
  return `Sent to ${members(reply.members + elsewhere)} (${fmt.count(reply.members)} on this node, ${fmt.count(elsewhere)} on other nodes).${missing}`;
}

function render(ch: ChannelSnapshot): void {
  const missing = byId('missing-nodes');
  missing.hidden = ch.missing.length === 0;
  missing.textContent = ch.missing.length ? `Node ${ch.missing.join(', ')} did not answer in time (CLUSTER_STATUS_TIMEOUT_MS): its members are not shown.` : '';
  renderCards(byId('counters'), [
    ['Members', fmt.count(ch.memberCount)],
    ['Users', fmt.count(ch.users)],
  ]);
  members.offset = ch.members.offset;
  const empty = members.q ? 'No matching member' : 'No members: the channel does not exist right now';
  renderTable(byId<HTMLTableElement>('members'), connectionColumns, ch.members.rows, empty);
  renderPager(byId('members-pager'), ch.members, (offset) => {
    members.offset = offset;
    watch();
  });
}
