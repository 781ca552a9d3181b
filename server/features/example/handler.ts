import { defineHandler } from '../../socket';
import { example } from './protocol';

/** Each cmd gets its param already validated and typed; returning a value answers a request. */
export const exampleHandler = defineHandler(example, {
  ping: (svc, _conn, _param, { channel }) => {
    const timestamp = Date.now();
    svc.writeChannel(example.message(channel, 'pong', { timestamp }));
    return { timestamp };
  },
  chat: (svc, conn, { text }, { channel }) => {
    svc.writeChannel(example.message(channel, 'chat', { user: conn.profile.name, text, time: Date.now() }));
  },
  'join-room': async (svc, conn, { room }) => ({ room, created: await svc.join(conn.id, room) }),
});
