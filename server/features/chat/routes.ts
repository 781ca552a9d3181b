import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { chatPage } from '../../../views/examples/chat';
import { type Handler, HttpError, type Profile, roomRoute } from '../../socket';
import { drawLimits } from '../draw/canvas';
import { MAX_DOC_BYTES } from '../editor/limits';
import type { Feature } from '../feature';
import { pageRoom } from '../room';
import { baseCodecs } from './base-codec';
import { baseLimits, type BasePage, basePageOf, opensChatRoom } from './base-pages';
import { BaseRelay } from './base-relay';
import { baseRooms as baseRoomRegistry } from './base-rooms';
import { baseKeys } from './base-state';
import { checkNickname, DEFAULT_ROOM, roomChannel } from './chat';
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
export const chatFeature: Feature = ({ router, sockets, store, guests, config }) => {
  // Base pages' state is per room: kept while the room is a chat room or a Base page room (base-rooms.ts).
  const roomKeys = (room: string) => [baseKeys.tasks(room), baseKeys.cells(room)];
  const baseRooms = baseRoomRegistry(store, { roomKeys, keepKeys: (room) => state.rooms.has(room) });
  const state = new ChatState(store, { roomKeys, keepKeys: (room) => baseRooms.has(room) });

  router.get('/examples/chat', (req, res) => {
    const room = pageRoom(req.query.room, DEFAULT_ROOM);
    const name = nameHint(typeof req.query.name === 'string' ? req.query.name : undefined) ?? '';
    res.type('html').send(chatPage({ room, name, socketsEnabled: sockets !== undefined }));
  });

  if (!sockets) return;
  const svc = sockets;
  const { intervalMs, cpuAlertPercent, lagAlertMs, rssAlertMb } = config.monitor;
  const relay = new BaseRelay({
    store,
    chatState: state,
    drawLimits,
    maxDocBytes: MAX_DOC_BYTES,
    monitor: { intervalMs, thresholds: { cpuPercent: cpuAlertPercent, lagMs: lagAlertMs, rssMb: rssAlertMb } },
  });
  const handler = createChatHandler(state, relay, async () => (await baseRooms.list()).map((r) => r.name));
  const occupied = (name: string) => svc.getConnectionsByChannel(roomChannel(name)).length > 0;

  /** The room a socket asks for (valid already), created if new; refused when every room is in use. */
  async function openRoom(room: string): Promise<void> {
    const { full } = await state.rooms.open(room, occupied);
    if (full) throw new HttpError(409, `all ${state.rooms.max} chat rooms are in use`);
  }

  /**
   * The room of a Base page other than chat (draw, kanban, editor, monitor, spreadsheet): not a
   * chat room (never in the chat's room list nor its MAX_ROOMS), but in the Base pages' own list
   * (MAX_BASE_ROOMS); refused before the upgrade when every one is in use, so none of its state is made.
   */
  async function openBaseRoom(room: string): Promise<void> {
    const { full } = await baseRooms.open(room, occupied);
    if (full) throw new HttpError(409, `all ${baseRooms.max} Base page rooms are in use`);
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

  /**
   * Base's pages: the chat handler, plus the room's state for a joining page in its own frames
   * and the end of its stroke or metrics when it goes (base-relay.ts). One per page, as its codec.
   */
  const baseHandler = (page: BasePage): Handler => ({
    on: handler.on,
    async onOpen(s, conn, log) {
      await handler.onOpen?.(s, conn, log);
      await relay.welcome(s, conn, page);
    },
    async onClose(s, conn, log) {
      await handler.onClose?.(s, conn, log);
      await relay.closed(s, conn);
    },
  });
  const baseHandlers = Object.fromEntries(Object.keys(baseCodecs).map((page) => [page, baseHandler(page as BasePage)])) as Record<BasePage, Handler>;
  // draw.html sends two frames a mouse move: Base routes get a larger budget (baseLimits.rateFactor).
  const { perSecond, burst, maxStrikes } = svc.limits.rateLimit;
  const f = baseLimits.rateFactor;
  const rateLimit = { perSecond: perSecond * f, burst: burst * f, maxStrikes: maxStrikes * f };

  // Base's /api/ws?id=&nickname=&room= (seed 001's page also sends ?channel=) and /ws?channel=&token=:
  // the room route's rules (room from the URL, HTTP 400 when invalid, `roomAuthorize`), with the
  // codec and handler of the Base page the URL names (basePageOf): chat.html and generic clients
  // open chat rooms (MAX_ROOMS), the other pages Base page rooms (MAX_BASE_ROOMS), 409 when full. A token is verified by the
  // service before the route runs (refused with 401 when invalid or when no JWT is configured);
  // without one the client is a guest.
  for (const path of ['/api/ws', '/ws']) {
    roomRoute(svc, path, {
      namespace: 'chat',
      defaultRoom: DEFAULT_ROOM,
      query: ['room', 'channel'],
      handler: (url) => baseHandlers[basePageOf(url)],
      codec: (url) => baseCodecs[basePageOf(url)],
      guest: baseProfile,
      open: (name, url) => (opensChatRoom(basePageOf(url)) ? openRoom(name) : openBaseRoom(name)),
      options: { rateLimit },
    });
  }
};
