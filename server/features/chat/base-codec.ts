import { type Codec, ErrorCode, FrameError, type Message, parseObject, type ServerFrame } from '../../socket';
import { BASE_TYPE, type BasePage, basePages, pageTakes } from './base-pages';
import { roomChannel, roomOf, roomPattern, type ChatMessage } from './chat';
import type { ChatProtocol } from './protocol';
import { escapeHtml } from '../../../views/html';

/** A frame in Base Framework's dialect: `{type, content, room?, nickname?}` plus a few per-type fields. */
export interface BaseFrame {
  type: string;
  content?: unknown;
  room?: string;
  nickname?: string;
  [field: string]: unknown;
}

/** Base `typing` content: false, 'stop', 'stopped', 0 or null mean stopped; anything else (or nothing) means typing. */
function typingFlag(content: unknown): boolean {
  return !(content === false || content === 'stop' || content === 'stopped' || content === 0 || content === null);
}

/** `users_update` content: the names, or, above the list limit (no names sent), one line with the count, which Base's user list shows. */
function baseNames(users: ReadonlyArray<{ name: string }>, count: number): string[] {
  return users.length > 0 || count === 0 ? users.map((u) => u.name) : [`${count} users`];
}

function toBaseMessage(m: ChatMessage, room: string | undefined): BaseFrame {
  return { type: 'message', content: m.text, ...(room === undefined ? {} : { room }), nickname: m.name, userId: m.userId, id: m.id, time: m.time };
}

const escapeText = (s: unknown) => (typeof s === 'string' ? escapeHtml(s) : s);
/** kanban.html puts a card's title, description and assignee into innerHTML: it gets them as HTML text. */
const escapeTask = (t: unknown) =>
  typeof t === 'object' && t !== null ? { ...t, title: escapeText((t as Record<string, unknown>).title), description: escapeText((t as Record<string, unknown>).description), assignee: escapeText((t as Record<string, unknown>).assignee) } : t;

/**
 * Base Framework's WebSocket dialect for the chat handler, translated at the edge: a Base client
 * on /api/ws or /ws is in the chat room `chat:<room>`, the same channel as the /examples/chat
 * page. One codec per Base page (`BasePage`, told by the URL): decoding is the same for all;
 * encoding sends each page only what it reads, in the shape its code reads (base-pages.ts), so
 * every outbound frame is still translated once per page kind, however many clients share it.
 *
 * Inbound: `message` (Base's docs) and `chat` (chat.html) → `say`; `typing`, `private`,
 * `nickname` and `create_room` → chat's own cmds; every other type → `base {type, content}`,
 * which base-relay.ts checks, keeps state of and relays to the whole room.
 *
 * Identity never comes from a frame: an inbound `nickname` field is ignored (the server names
 * the sender), and a frame's `room` must be the connection's room (else `not_member`).
 */
export class BaseCodec implements Codec {
  constructor(readonly page: BasePage = 'generic') {}

  decode(text: string, defaultChannel: string): Message {
    const f = parseObject(text, '{type, content, room?, nickname?}');
    const { type, content } = f;
    if (typeof type !== 'string' || !BASE_TYPE.test(type)) {
      throw new FrameError(ErrorCode.invalidFrame, 'type must be a letter then up to 63 letters, digits, _ or -');
    }
    let channel = defaultChannel;
    if (f.room !== undefined && f.room !== null && f.room !== '') {
      if (typeof f.room !== 'string' || !roomPattern.test(f.room)) {
        throw new FrameError(ErrorCode.invalidFrame, 'room must be 1-64 letters, digits, _ or -');
      }
      channel = roomChannel(f.room);
    }
    const frame = (cmd: string, param: unknown): Message => ({ channel, cmd, param });
    switch (type) {
      case 'message':
      case 'chat':
        return frame('say', { text: content });
      case 'typing':
        return frame('typing', { typing: typingFlag(content) });
      case 'private':
        return frame('private', { to: f.target ?? f.to, text: content });
      case 'nickname':
        return frame('nick', { name: content });
      case 'create_room':
        return frame('create-room', { room: content });
      default:
        return frame('base', { type, content });
    }
  }

  encode(msg: Message): string | undefined {
    const out = this.translate(msg as ServerFrame<ChatProtocol>);
    if (out === undefined || !pageTakes(this.page, out.type, out.content)) return undefined;
    if (this.page === 'kanban') {
      if (out.type === 'add_task') out.content = escapeTask(out.content);
      else if (out.type === 'tasks_update' && Array.isArray(out.content)) out.content = out.content.map(escapeTask);
    }
    return JSON.stringify(out);
  }

  /** An outbound chat frame as Base's clients expect it; undefined for frames Base has no use for. */
  translate(m: ServerFrame<ChatProtocol>): BaseFrame | undefined {
    const room = roomOf(m.channel);
    const inRoom = room === undefined ? {} : { room };
    switch (m.cmd) {
      case 'message':
        return toBaseMessage(m.param, room);
      case 'system':
        return { type: 'system', content: m.param.text, ...inRoom, nickname: 'System', kind: m.param.kind, userId: m.param.userId, time: m.param.time };
      case 'users':
        return { type: 'users_update', content: baseNames(m.param.users, m.param.count), ...inRoom, users: m.param.users };
      case 'state': {
        // A Base client's first frame: the user list it expects, plus who it is and the rooms.
        // The room's recent messages follow as `message` frames (base-relay.ts).
        const { users, userCount, you, rooms } = m.param;
        return { type: 'users_update', content: baseNames(users, userCount), ...inRoom, users, you, rooms: rooms.map((r) => r.name) };
      }
      case 'typing':
        return { type: 'typing', content: m.param.typing, ...inRoom, nickname: m.param.name, userId: m.param.userId, ttlMs: m.param.ttlMs };
      case 'private':
        return {
          type: 'private',
          content: m.param.text,
          nickname: m.param.from.name,
          from: m.param.from.id,
          target: m.param.to.id,
          targetNickname: m.param.to.name,
          id: m.param.id,
          time: m.param.time,
        };
      case 'rooms':
        return { type: 'rooms', rooms: m.param.rooms.map((r) => r.name), content: m.param.rooms };
      case 'you':
        return { type: 'nickname', content: m.param.name, id: m.param.id };
      case 'base': {
        // Base's envelope as its hub sends it: content null when there is none (`clear`), nickname the sender's.
        const { type, content, name, userId } = m.param;
        return { type, content: content ?? null, ...inRoom, ...(name === undefined ? {} : { nickname: name }), ...(userId === undefined ? {} : { userId }) };
      }
      case 'error':
        return { type: 'error', content: m.param.message, code: m.param.code };
      case 'close-connection':
        return { type: 'system', content: m.param.reason, nickname: 'System' };
      default:
        // reply (Base sends no refs), presence-diff (chat sends system + users_update instead), other features' frames.
        return undefined;
    }
  }
}

/** One codec per Base page, shared by every connection of that page (encoding is per codec instance per delivery). */
export const baseCodecs: Readonly<Record<BasePage, BaseCodec>> = Object.fromEntries(basePages.map((p) => [p, new BaseCodec(p)])) as Record<BasePage, BaseCodec>;
