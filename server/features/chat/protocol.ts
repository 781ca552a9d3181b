import { z } from 'zod';
import { defineProtocol } from '../../socket';
import { BASE_TYPE } from './base-pages';
import { MAX_MESSAGE_LENGTH, MAX_NICKNAME_LENGTH, roomPattern } from './chat';

const text = z.string().trim().min(1, 'must not be empty').max(MAX_MESSAGE_LENGTH);
const user = z.object({ id: z.string(), name: z.string() });
/** A sending page's id for its message, so it can tell its own line (live or in a re-sent history) from its "sending…" one. */
const clientMsgId = z.string().regex(/^[\w-]{1,64}$/, 'clientMsgId: 1-64 letters, digits, _ or -');
const message = z.object({ id: z.string(), userId: z.string(), name: z.string(), text: z.string(), time: z.number(), clientMsgId: clientMsgId.optional() });
const room = z.string().regex(roomPattern, 'room: 1-64 letters, digits, _ or -');
const roomInfo = z.object({ name: z.string(), users: z.number() });
/**
 * A Base Framework frame of any other type than chat's own (Base's draw, kanban, editor,
 * spreadsheet and monitor pages, and whatever else a Base client sends): the type and content as
 * the client sent them. base-relay.ts checks each type's content and relays it to the room.
 */
const baseFrame = z.object({ type: z.string().regex(BASE_TYPE, 'type: a letter, then up to 63 letters, digits, _ or -'), content: z.unknown() });

/**
 * The chat example. Room frames travel on `chat:<room>` (the connection's route channel, so a
 * page leaves `channel` empty); the room list, private messages and `you` on the `chat` channel.
 */
export const chat = defineProtocol({
  client: {
    /** A message to the room; answered with its id. */
    say: z.object({ text, clientMsgId: clientMsgId.optional() }),
    /** Typing started (true) or stopped (false); clients refresh it while typing, it expires by itself. */
    typing: z.object({ typing: z.boolean() }),
    /** A private message to one online chat user, by user id. */
    private: z.object({ to: z.string().min(1).max(128), text }),
    /** Changes the sender's display name for every tab and future messages. */
    nick: z.object({ name: z.string().max(MAX_NICKNAME_LENGTH * 4) }),
    /** Creates a room (or finds it); the room list updates for everyone. */
    'create-room': z.object({ room }),
    /** Base compatibility: a frame of Base's other pages (draw, kanban, editor, sheet, monitor…), checked and relayed to the room. */
    base: baseFrame,
  },
  server: {
    /** To a connection when it opens (and so after every reconnect): everything a late joiner needs. */
    state: z.object({
      /** The store's generation (server/store/generation.ts): another one than before means the server lost its state. */
      generation: z.string(),
      room: z.string(),
      you: user,
      history: z.array(message),
      /** The room's users, or none above WS_PRESENCE_LIST_MAX: `userCount` says how many. */
      users: z.array(user),
      userCount: z.number().int().min(0),
      rooms: z.array(roomInfo),
      typingTtlMs: z.number(),
    }),
    message,
    /**
     * Join, leave and rename notices. Joins and leaves are coalesced (notices.ts): one notice may
     * cover `count` users (default 1), of whom `userId` is the first.
     */
    system: z.object({ text: z.string(), kind: z.enum(['join', 'leave', 'nick']), userId: z.string(), count: z.number().int().positive().optional(), time: z.number() }),
    /**
     * The room's users, one entry per user, after joins, leaves and renames (at most every 250 ms).
     * Above WS_PRESENCE_LIST_MAX users the list is left empty and `count` alone says how many, as
     * presence-diff does: a list of n to n members per update would grow with n².
     */
    users: z.object({ users: z.array(user), count: z.number().int().min(0) }),
    typing: z.object({ userId: z.string(), name: z.string(), typing: z.boolean(), ttlMs: z.number() }),
    private: z.object({ id: z.string(), from: user, to: user, text: z.string(), time: z.number() }),
    rooms: z.object({ rooms: z.array(roomInfo) }),
    /** The receiving user's own identity, after a rename. */
    you: user,
    /**
     * A Base Framework frame for the room's Base clients (the Base codec sends it as
     * `{type, content, room, nickname: name}`; wsforge pages ignore it). `name` and `userId` are
     * the sender's, set by the server; state for a joiner has none.
     */
    base: z.object({ type: z.string(), content: z.unknown().optional(), name: z.string().optional(), userId: z.string().optional() }),
  },
  replies: {
    say: z.object({ id: z.string() }),
    private: z.object({ id: z.string() }),
    nick: z.object({ name: z.string() }),
    'create-room': z.object({ room: z.string(), created: z.boolean() }),
  },
});
export type ChatProtocol = typeof chat;
