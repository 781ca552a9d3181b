// /admin/sockets/conn/{id}: everything known about one connection, live; send to it; disconnect it.
import type { ConnectionStatus } from '../../server/socket/status';
import { adminSocket, byId, channelLink, confirmAction, fmt, h, noticeParam, onSubmit, root } from '../admin';

const id = root.dataset.conn!;
const { socket } = adminSocket(
  () => ({ view: 'connection', id }),
  (frame) => {
    if (frame.cmd === 'connection') render(frame.param.connection);
  },
);

let shown: ConnectionStatus | undefined;

/** One frame to the connection; an empty channel is its route channel. */
async function send(channel: string, cmd: string, param: string): Promise<string> {
  const reply = await socket.request('', 'send', { connId: id, channel, cmd, param, count: true });
  return delivered(reply.here ?? 0, reply.elsewhere ?? 0);
}
onSubmit(byId<HTMLFormElement>('notice'), (data) => send('', 'notice', noticeParam(data)));
onSubmit(byId<HTMLFormElement>('send'), (data) => send(String(data.get('channel')), String(data.get('cmd')), String(data.get('param'))));
const kick = byId<HTMLFormElement>('kick');
const wholeUser = () => (kick.elements.namedItem('user') as HTMLInputElement).checked;
// Asked before the request: capture phase, ahead of onSubmit's listener.
kick.addEventListener(
  'submit',
  (e) => {
    const question = wholeUser()
      ? `Disconnect every connection of user ${shown?.profile.name ?? ''} (${shown?.profile.id ?? '?'}), on every node? They will not reconnect.`
      : `Disconnect ${shown ? `${shown.profile.name}'s connection` : 'connection'} ${id.slice(0, 8)}? It will not reconnect.`;
    if (confirmAction(question)) return;
    e.preventDefault();
    e.stopImmediatePropagation();
  },
  { capture: true },
);
onSubmit(kick, async (data) => {
  const reason = String(data.get('reason'));
  if (!wholeUser()) {
    await socket.request('', 'kick', { connId: id, reason });
    return 'Disconnected.';
  }
  if (!shown) throw new Error('the user is not known yet: wait for the details');
  const { disconnected } = await socket.request('', 'kick-user', { userId: shown.profile.id, reason });
  return `Disconnected ${fmt.count(disconnected)} connection${disconnected === 1 ? '' : 's'}.`;
});

/** How many connections got it, as far as this node can tell; never a bare "Sent." when nobody did. */
function delivered(here: number, elsewhere: number): string {
  if (here) return `Sent. Received by ${fmt.count(here)} connection${here === 1 ? '' : 's'} on this node.`;
  if (elsewhere) return `Sent to ${shown?.node ? `node ${shown.node}` : 'its node'} through the bus: 0 connections on this node, and delivery there is not confirmed.`;
  return 'Not delivered: 0 connections received it (the connection had closed).';
}

function render(c: ConnectionStatus | null): void {
  const state = byId('state');
  if (!c) {
    // Keep the last details on screen: they are what the admin was looking at.
    state.textContent = 'closed';
    state.className = 'badge off';
    for (const b of document.querySelectorAll<HTMLButtonElement>('form button')) b.disabled = true;
    return;
  }
  shown = c;
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
