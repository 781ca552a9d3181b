import { randomUUID } from 'node:crypto';
import { defineHandler, ErrorCode, type Handler, type Session, SocketError, type Sockets, Throttle } from '../../socket';
import {
  checkNickname,
  DIRECTORY,
  LIST_INTERVAL_MS,
  MESSAGE_BURST,
  MESSAGE_REFILL_MS,
  RateLimiter,
  roomChannel,
  roomOf,
  TYPING_MIN_INTERVAL_MS,
  TYPING_TTL_MS,
  withNicknames,
  type ChatUser,
} from './chat';
import type { BaseRelay } from './base-relay';
import type { ChatState } from './chat-state';
import { RoomNotices } from './notices';
import { chat } from './protocol';

/**
 * The chat handler. A connection is in one room, its route channel `chat:<room>`, plus the
 * `chat` directory channel (room list, private messages). Shared state (rooms, history,
 * nicknames) lives in the store through ChatState; per-connection counters live in WeakMaps
 * keyed by the Session, so they go away with it. Base Framework's other frames (`base`) go to
 * `base` (base-relay.ts); without one they are refused. `otherRooms`: rooms whose connections are
 * not in the chat's room list (Base's non-chat pages, base-rooms.ts), told of renames too.
 */
export function createChatHandler(state: ChatState, base?: BaseRelay, otherRooms: () => Promise<string[]> = async () => []): Handler {
  const limiters = new WeakMap<Session, RateLimiter>();
  const lastTyping = new WeakMap<Session, number>();

  /** Refuses a message when the connection has used up its burst. */
  function throttle(conn: Session): void {
    const now = Date.now();
    let limiter = limiters.get(conn);
    if (!limiter) limiters.set(conn, (limiter = new RateLimiter(MESSAGE_BURST, MESSAGE_REFILL_MS, now)));
    if (!limiter.take(now)) throw new SocketError('rate_limited', 'too many messages: slow down');
  }

  /**
   * The connection's room, of its route channel `chat:<room>`. Every frame is about it: the room
   * route's rule (roomAuthorize) refuses frames naming another room (`wrong_room`) or channel.
   */
  function roomIn(conn: Session): string {
    const room = roomOf(conn.channel);
    if (room === undefined) throw new Error(`chat route channel "${conn.channel}" is not a room channel`);
    return room;
  }

  /** The user's nickname if they chose one, else the name the connection came with. */
  async function nameOf(conn: Session): Promise<string> {
    return (await state.nickname(conn.profile.id)) ?? conn.profile.name;
  }

  /**
   * A room's user list and the room directory are sent again when they change, at most every
   * LIST_INTERVAL_MS per channel, with what they are when sent: a room filling with n users then
   * costs about n × (fill time ÷ interval) lists, not one list of n to every member per arrival.
   * Volatile, like typing: each list supersedes the last and a reconnecting page gets them in its
   * `state`, so they take no place in the history the conversation resumes from.
   */
  const lists = new WeakMap<Sockets, Throttle<string>>();
  function listsOf(svc: Sockets): Throttle<string> {
    let t = lists.get(svc);
    if (!t) {
      const send = async (channel: string) =>
        channel === DIRECTORY
          ? svc.writeChannelVolatile(chat.message(DIRECTORY, 'rooms', { rooms: await roomList(svc) }))
          : svc.writeChannelVolatile(chat.message(channel, 'users', await usersIn(svc, channel)));
      lists.set(svc, (t = new Throttle(send, () => LIST_INTERVAL_MS)));
    }
    return t;
  }

  const notices = new WeakMap<Sockets, RoomNotices>();
  function noticesOf(svc: Sockets): RoomNotices {
    let n = notices.get(svc);
    if (!n) notices.set(svc, (n = new RoomNotices(svc)));
    return n;
  }

  /** Whether `conn` is its user's only connection in `channel` on this node. */
  function onlyTabHere(svc: Sockets, conn: Session, channel: string): boolean {
    return !svc.getConnectionsByChannel(channel).some((c) => c.id !== conn.id && c.profile.id === conn.profile.id);
  }

  /**
   * A channel's users across the cluster, one entry per user however many tabs, with nicknames;
   * above the service's presenceListMax only their count (no list, and no nickname read).
   */
  async function usersIn(svc: Sockets, channel: string): Promise<{ users: ChatUser[]; count: number }> {
    const users = await svc.presence(channel);
    if (users.length > svc.limits.presenceListMax) return { users: [], count: users.length };
    return { users: withNicknames(users, await state.nicknames(users.map((u) => u.id))), count: users.length };
  }

  /** Whether the user has a tab in the channel on any node. */
  async function isIn(svc: Sockets, channel: string, userId: string): Promise<boolean> {
    return (await svc.presence(channel)).some((u) => u.id === userId);
  }

  async function roomList(svc: Sockets): Promise<Array<{ name: string; users: number }>> {
    const rooms = await state.rooms.list();
    return Promise.all(rooms.map(async ({ name }) => ({ name, users: (await svc.presence(roomChannel(name))).length })));
  }

  /** After a connection has left its channels: if that was its user's last tab, tell the room. */
  async function afterLeave(svc: Sockets, conn: Session, channel: string): Promise<void> {
    if (await isIn(svc, channel, conn.profile.id)) return; // another tab (here or on another node) stays
    const name = await nameOf(conn);
    noticesOf(svc).add(channel, { kind: 'leave', userId: conn.profile.id, name, connId: conn.id });
    // Only a user seen typing may still show as typing somewhere.
    if (lastTyping.has(conn)) svc.writeChannelVolatile(chat.message(channel, 'typing', { userId: conn.profile.id, name, typing: false, ttlMs: TYPING_TTL_MS }));
    listsOf(svc).poke(channel);
    listsOf(svc).poke(DIRECTORY);
  }

  function renamed(channel: string, userId: string, text: string) {
    return chat.message(channel, 'system', { text, kind: 'nick', userId, time: Date.now() });
  }

  return defineHandler(
    chat,
    {
      say: async (svc, conn, { text, clientMsgId }) => {
        const channel = conn.channel;
        const room = roomIn(conn);
        throttle(conn);
        lastTyping.delete(conn);
        const message = { id: randomUUID(), userId: conn.profile.id, name: await nameOf(conn), text, time: Date.now(), ...(clientMsgId ? { clientMsgId } : {}) };
        await state.record(room, message);
        svc.writeChannel(chat.message(channel, 'message', message));
        return { id: message.id };
      },

      typing: async (svc, conn, { typing }) => {
        const channel = conn.channel;
        const now = Date.now();
        if (typing) {
          const last = lastTyping.get(conn);
          if (last !== undefined && now - last < TYPING_MIN_INTERVAL_MS) return;
          lastTyping.set(conn, now);
        } else lastTyping.delete(conn);
        const frame = { userId: conn.profile.id, name: await nameOf(conn), typing, ttlMs: TYPING_TTL_MS };
        svc.writeChannelVolatile(chat.message(channel, 'typing', frame), conn.id);
      },

      private: async (svc, conn, { to, text }) => {
        if (to === conn.profile.id) throw new SocketError('invalid_target', 'you cannot send a private message to yourself');
        // Only to someone in the chat right now (any room, any node): private messages are not stored.
        const target = (await svc.presence(DIRECTORY)).find((u) => u.id === to);
        if (!target) throw new SocketError('unknown_user', 'no such user is in the chat');
        throttle(conn);
        const [fromName, toName] = await Promise.all([nameOf(conn), state.nickname(to)]);
        const id = randomUUID();
        const frame = chat.message(DIRECTORY, 'private', {
          id,
          from: { id: conn.profile.id, name: fromName },
          to: { id: to, name: toName ?? target.name },
          text,
          time: Date.now(),
        });
        svc.writeUser(to, frame);
        svc.writeUser(conn.profile.id, frame); // the sender's other tabs see what they sent
        return { id };
      },

      nick: async (svc, conn, { name: raw }) => {
        const checked = checkNickname(raw);
        if ('error' in checked) throw new SocketError(ErrorCode.invalidParam, checked.error);
        const { name } = checked;
        const old = await nameOf(conn);
        if (name === old) return { name };
        await state.setNickname(conn.profile.id, name);
        // Every room where this user has a tab (on any node) hears of it.
        const rooms = new Set([...(await state.rooms.list()).map((r) => r.name), ...(await otherRooms())]);
        for (const room of rooms) {
          const channel = roomChannel(room);
          if (!(await isIn(svc, channel, conn.profile.id))) continue;
          svc.writeChannel(renamed(channel, conn.profile.id, `${old} is now known as ${name}`));
          listsOf(svc).poke(channel);
        }
        svc.writeUser(conn.profile.id, chat.message(DIRECTORY, 'you', { id: conn.profile.id, name }));
        return { name };
      },

      'create-room': async (svc, _conn, { room }) => {
        const occupied = (name: string) => svc.getConnectionsByChannel(roomChannel(name)).length > 0;
        const result = await state.rooms.open(room, occupied);
        if (result.full) throw new SocketError('room_limit', `all ${state.rooms.max} rooms are in use`);
        if (result.created) listsOf(svc).poke(DIRECTORY);
        return { room, created: result.created };
      },

      base: async (svc, conn, { type, content }) => {
        if (!base) throw new SocketError(ErrorCode.unknownCmd, 'Base frames are not relayed on this route');
        await base.handle(svc, conn, type, content);
      },
    },
    {
      async onOpen(svc, conn) {
        const channel = conn.channel;
        const room = roomIn(conn);
        await svc.join(conn.id, DIRECTORY);
        const name = await nameOf(conn);
        const [generation, history, users, rooms] = await Promise.all([state.generation(), state.history(room), usersIn(svc, channel), roomList(svc)]);
        // Sent on every (re)connect: a page re-syncs by simply rendering it.
        svc.writeConnection(
          conn.id,
          chat.message(channel, 'state', { generation, room, you: { id: conn.profile.id, name }, history, users: users.users, userCount: users.count, rooms, typingTtlMs: TYPING_TTL_MS }),
        );
        // The join notice is for the user's first tab in the room (checked on this node).
        if (!onlyTabHere(svc, conn, channel)) {
          // Another tab of this user is already here: nothing changed for anyone else.
          svc.writeConnection(conn.id, chat.message(DIRECTORY, 'rooms', { rooms }));
          return;
        }
        noticesOf(svc).add(channel, { kind: 'join', userId: conn.profile.id, name, connId: conn.id });
        // To everyone, the joiner included: a Base client's lists come only from `users` and `rooms`.
        listsOf(svc).poke(channel);
        listsOf(svc).poke(DIRECTORY);
      },

      onClose(svc, conn) {
        // Still a member of its channels here; conn.closed settles once the service has left them
        // (and presence knows), so the room is told only when the user's last tab is gone.
        const channel = conn.channel;
        if (roomOf(channel) === undefined) return;
        void conn.closed.then(() => afterLeave(svc, conn, channel)).catch((err: unknown) => conn.log.error({ err }, 'chat leave notice failed'));
      },
    },
  );
}
