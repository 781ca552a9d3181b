// The /example page: Forge's WebSocket example on a typed Socket.
import type { ExampleProtocol } from '../../server/features/example/protocol';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('example');
const status = byId('status');
const logList = byId<HTMLUListElement>('log');
const chatInput = byId<HTMLInputElement>('chat-input');
const joinInput = byId<HTMLInputElement>('join-input');
const here = byId('here');

/** Every line goes in as text: frames carry other users' input. */
function log(text: string): void {
  const li = document.createElement('li');
  li.textContent = text;
  logList.append(li);
  li.scrollIntoView({ block: 'nearest' });
}

const connection = connectionUi({ status, root, socket: () => socket });
const socket = new Socket<ExampleProtocol>({
  url: `/example/socket?ch=${encodeURIComponent(root.dataset.channel ?? '')}`,
  onOpen: () => {
    connection.opened();
    status.textContent = 'connected';
    status.dataset.state = 'connected';
  },
  onClose: (code, reason, retryInMs) => connection.closed(code, reason, retryInMs),
  onMessage: (frame) => {
    if (showNotice(frame)) return;
    // Presence is a count beside the status, not a line in the log of frames.
    if (frame.cmd === 'presence-diff') {
      if (frame.channel === root.dataset.channel) here.textContent = `${frame.param.count} here`;
      return;
    }
    log(`${frame.cmd} ${frame.channel} ${JSON.stringify(frame.param)}`);
  },
  onError: (service, error) => log(`error (${service}): ${error}`),
});

byId('ping').addEventListener('click', async () => {
  const started = performance.now();
  try {
    await socket.request('', 'ping', {});
    log(`ping: ${Math.round(performance.now() - started)} ms round trip`);
  } catch (e) {
    log(`ping failed: ${(e as Error).message}`);
  }
});

byId('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = chatInput.value.trim();
  if (!text) return;
  socket.send({ channel: '', cmd: 'chat', param: { text } });
  chatInput.value = '';
});

byId('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = joinInput.value.trim();
  if (!room) return;
  try {
    log(`join ${room}: ${JSON.stringify(await socket.join(room))}`);
    joinInput.value = '';
  } catch (err) {
    log(`join ${room} failed: ${(err as Error).message}`);
  }
});
