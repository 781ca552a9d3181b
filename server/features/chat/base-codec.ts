import { type Codec, ErrorCode, FrameError, type Message, parseObject, type ServerFrame } from '../../socket';
import { roomChannel, roomOf, roomPattern, type ChatMessage } from './chat';
import type { ChatProtocol } from './protocol';

/** A frame in Base Framework's dialect: `{type, content, room?, nickname?}` plus a few per-type fields. */
export interface BaseFrame {
  type: string;
  content?: unknown;
  room?: string;
  nickname?: string;
  [field: string]: unknown;
}

/**
 * Inbound Base types and the chat cmd each becomes. `nickname` and `create_room` are wsforge
 * extensions (Base has no way to rename or create a room on the server).
 */
const baseInboundTypes = ['message', 'typing', 'private', 'draw', 'cursor_move', 'code_update', 'nickname', 'create_room'] as const;

const maxTypeLength = 64;

/** Base `typing` content: false, 'stop', 'stopped', 0 or null mean stopped; anything else (or nothing) means typing. */
function typingFlag(content: unknown): boolean {
  return !(content === false || content === 'stop' || content === 'stopped' || content === 0 || content === null);
}

function toBaseMessage(m: ChatMessage, room: string | undefined): BaseFrame {
  return { type: 'message', content: m.text, ...(room === undefined ? {} : { room }), nickname: m.name, userId: m.userId, id: m.id, time: m.time };
}

/**
 * Base Framework's WebSocket dialect for the chat handler, translated at the edge: a Base client
 * on /api/ws or /ws is in the same `chat:<room>` channel as the /examples/chat page. Stateless,
 * so one instance serves every Base connection and each outbound frame is encoded once.
 *
 * Identity never comes from a frame: an inbound `nickname` field is ignored (the server names
 * the sender), and a frame's `room` must be the connection's room (else `not_member`).
 */
export class BaseCodec implements Codec {
  decode(text: string, defaultChannel: string): Message {
    const f = parseObject(text, '{type, content, room?, nickname?}');
    const { type, content } = f;
    if (typeof type !== 'string' || type.length === 0 || type.length > maxTypeLength) {
      throw new FrameError(ErrorCode.invalidFrame, `type must be a non-empty string of at most ${maxTypeLength} characters`);
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
        return frame('say', { text: content });
      case 'typing':
        return frame('typing', { typing: typingFlag(content) });
      case 'private':
        return frame('private', { to: f.target ?? f.to, text: content });
      case 'draw':
      case 'cursor_move':
      case 'code_update':
        return frame('relay', { type, content });
      case 'nickname':
        return frame('nick', { name: content });
      case 'create_room':
        return frame('create-room', { room: content });
      default:
        throw new FrameError(ErrorCode.unknownCmd, `unknown type "${type}": expected one of ${baseInboundTypes.join(', ')}`);
    }
  }

  encode(msg: Message): string | undefined {
    const out = this.translate(msg as ServerFrame<ChatProtocol>);
    return out === undefined ? undefined : JSON.stringify(out);
  }

  /** An outbound chat frame as Base's client expects it; undefined for frames Base has no use for. */
  translate(m: ServerFrame<ChatProtocol>): BaseFrame | undefined {
    const room = roomOf(m.channel);
    const inRoom = room === undefined ? {} : { room };
    switch (m.cmd) {
      case 'message':
        return toBaseMessage(m.param, room);
      case 'system':
        return { type: 'system', content: m.param.text, ...inRoom, nickname: 'System', kind: m.param.kind, userId: m.param.userId, time: m.param.time };
      case 'users':
        return { type: 'users_update', content: m.param.users.map((u) => u.name), ...inRoom, users: m.param.users };
      case 'state': {
        // A Base client's first frame: the user list it expects, plus wsforge's extras for late joiners.
        const { users, you, history, rooms } = m.param;
        return {
          type: 'users_update',
          content: users.map((u) => u.name),
          ...inRoom,
          users,
          you,
          history: history.map((h) => toBaseMessage(h, room)),
          rooms: rooms.map((r) => r.name),
        };
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
      case 'relay':
        return { type: m.param.type, content: m.param.content, ...inRoom, nickname: m.param.name, userId: m.param.userId };
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

/** The one instance every Base route shares (encoding is per codec instance per delivery). */
export const baseCodec = new BaseCodec();
