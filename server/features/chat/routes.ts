import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { chatPage } from '../../../views/examples/chat';
import { HttpError, type Profile, roomRoute } from '../../socket';
import type { Feature } from '../feature';
import { baseCodec } from './base-codec';
import { checkNickname, DEFAULT_ROOM, roomChannel } from './chat';
import { pageRoom } from '../room';
import { ChatState } from './chat-state';
import { createChatHandler } from './handler';

/** A display name from a query parameter, if it passes the nickname rules. */
function nameHint(raw: string | null | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const checked = checkNickname(raw);
  return 'name' in checked ? checked.name : undefined;
}

const guestName = (id: string) => `guest-${id.replace(/^base-/, '').slice(0, 4)}`;

/**
 * The chat example: the page at /examples/chat?room=&name=, its socket at
 * /examples/chat/socket?room=&name=, and Base Framework's endpoints /api/ws?id=&nickname=&room=
 * and /ws?channel=&token= on the same handler through the Base codec, so all of them share rooms.
 */
export const chatFeature: Feature = ({ router, sockets, store, guests }) => {
  const state = new ChatState(store);

  router.get('/examples/chat', (req, res) => {
    const room = pageRoom(req.query.room, DEFAULT_ROOM);
    const name = nameHint(typeof req.query.name === 'string' ? req.query.name : undefined) ?? '';
    res.type('html').send(chatPage({ room, name, socketsEnabled: sockets !== undefined }));
  });

  if (!sockets) return;
  const svc = sockets;
  const handler = createChatHandler(state);

  /** The room a socket asks for (valid already), created if new; refused when every room is in use. */
  async function openRoom(room: string): Promise<void> {
    const occupied = (name: string) => svc.getConnectionsByChannel(roomChannel(name)).length > 0;
    const { full } = await state.createRoom(room, occupied);
    if (full) throw new HttpError(409, `all ${state.maxRooms} chat rooms are in use`);
  }

  /** Page users: the signed guest id; without the cookie (e.g. a Node client), a fresh id per connection. */
  function pageProfile(req: IncomingMessage, url: URL): Profile {
    const id = guests.fromRequest(req) ?? randomUUID();
    return { id, name: nameHint(url.searchParams.get('name')) ?? guestName(id) };
  }

  /**
   * Base clients: `id` is client-supplied, so it is never an identity, only a display hint when
   * `nickname` is missing. The user id is the verified token's (`?token=`, once JWT is configured),
   * else the signed guest cookie when the browser has one (the same user as on the pages), else a
   * fresh server-made `base-<uuid>` per connection.
   */
  function baseProfile(req: IncomingMessage, url: URL): Profile {
    const id = guests.fromRequest(req) ?? `base-${randomUUID()}`;
    const name = nameHint(url.searchParams.get('nickname')) ?? nameHint(url.searchParams.get('id')) ?? guestName(id);
    return { id, name };
  }

  /**
   * Room routes (`chat:<room>`): anyone may chat (guests); a connection may use only its own room:
   * the built-in `join` cannot add other rooms (or other features' channels) and frames can only
   * name its room. The handler itself joins the `chat` directory channel.
   */
  const room = { namespace: 'chat', handler, defaultRoom: DEFAULT_ROOM, open: openRoom };
  roomRoute(svc, '/examples/chat/socket', { ...room, guest: pageProfile });

  // Base's /api/ws?id=&nickname=&room= (seed 001's page also sends ?channel=) and /ws?channel=&token=.
  // A token is verified by the service before the route runs (refused with 401 when invalid or
  // when no JWT is configured); without one the client is a guest.
  const base = { ...room, query: ['room', 'channel'], guest: baseProfile, codec: baseCodec };
  roomRoute(svc, '/api/ws', base);
  roomRoute(svc, '/ws', base);
};
