// /admin/sockets/conn/{id}: everything known about one connection, live; send to it; disconnect it.
import type { ConnectionStatus } from '../../server/socket/status';
import { adminSocket, byId, channelLink, fmt, h, onSubmit, root } from '../admin';

const id = root.dataset.conn!;
const { socket } = adminSocket(
  () => ({ view: 'connection', id }),
  (frame) => {
    if (frame.cmd === 'connection') render(frame.param.connection);
  },
);

onSubmit(byId<HTMLFormElement>('send'), async (data) => {
  await socket.request('', 'send', { connId: id, channel: String(data.get('channel')), cmd: String(data.get('cmd')), param: String(data.get('param')) });
  return 'Sent.';
});
onSubmit(byId<HTMLFormElement>('kick'), async (data) => {
  await socket.request('', 'kick', { connId: id, reason: String(data.get('reason')) });
  return 'Disconnected.';
});

function render(c: ConnectionStatus | null): void {
  const state = byId('state');
  if (!c) {
    // Keep the last details on screen: they are what the admin was looking at.
    state.textContent = 'closed';
    state.className = 'badge off';
    for (const b of document.querySelectorAll<HTMLButtonElement>('form button')) b.disabled = true;
    return;
  }
  const rows: Array<[string, ...Array<Node | string>]> = [
    ['ID', c.id],
    ['Node', c.node],
    ['User', `${c.profile.name} `, h('span', { class: 'muted' }, `(${c.profile.id})`)],
    ['Route', c.route],
    ['Route channel', channelLink(c.channel)],
    ['Channels', ...c.channels.flatMap((ch, i) => [i ? ', ' : '', channelLink(ch)])],
    ['Remote address', c.remoteAddress],
    ['User agent', c.userAgent],
    ['Connected', `${new Date(c.started).toLocaleString('en-GB')} (${fmt.ago(c.started)})`],
    ['Last activity', fmt.ago(c.lastActivity)],
    ['Messages in / out', `${fmt.count(c.messagesIn)} / ${fmt.count(c.messagesOut)}`],
    ['Bytes in / out', `${fmt.bytes(c.bytesIn)} / ${fmt.bytes(c.bytesOut)}`],
    ['Errors', fmt.count(c.errors)],
  ];
  byId('details').replaceChildren(...rows.flatMap(([label, ...value]) => [h('dt', null, label), h('dd', null, ...value)]));
}
