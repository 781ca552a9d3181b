import { stateGeneration } from '../../store/generation';
import type { StateStore } from '../../store/store';
import {
  HISTORY_SIZE,
  initialRooms,
  MAX_NICKNAMES,
  MAX_ROOMS,
  touchNicknameIndex,
  type ChatMessage,
} from './chat';
import { RoomRegistry } from './room-registry';

/** Store keys of the chat example; everything chat shares between nodes lives under `chat:`. */
export const chatKeys = {
  /** Room[]: the room list, oldest first. */
  rooms: 'chat:rooms',
  /** ChatMessage[]: a room's last HISTORY_SIZE messages. */
  history: (room: string) => `chat:history:${room}`,
  /** string: a user's nickname. */
  nickname: (userId: string) => `chat:nick:${userId}`,
  /** string[]: user ids with a nickname, least recently set first (bounds the nicknames kept). */
  nicknameIndex: 'chat:nick-index',
} as const;

export interface ChatStateOptions {
  maxRooms?: number;
  historySize?: number;
  maxNicknames?: number;
  now?: () => number;
  /** Other keys of a room, deleted with its history when the room is recycled (Base pages' state). */
  roomKeys?: (room: string) => string[];
  /** Whether a recycled room's `roomKeys` are still another registry's (a Base page room of the same name): then they are kept. */
  keepKeys?: (room: string) => Promise<boolean>;
}

/** The chat's shared state behind the StateStore: rooms, histories, nicknames. */
export class ChatState {
  /** The chat's rooms (MAX_ROOMS, the built-in ones first); a recycled room loses its history. */
  readonly rooms: RoomRegistry;
  readonly historySize: number;
  readonly maxNicknames: number;
  private readonly now: () => number;

  constructor(
    private readonly store: StateStore,
    opts: ChatStateOptions = {},
  ) {
    this.historySize = opts.historySize ?? HISTORY_SIZE;
    this.maxNicknames = opts.maxNicknames ?? MAX_NICKNAMES;
    this.now = opts.now ?? Date.now;
    this.rooms = new RoomRegistry(store, {
      key: chatKeys.rooms,
      max: opts.maxRooms ?? MAX_ROOMS,
      now: this.now,
      initial: initialRooms,
      recycled: async (room) => [chatKeys.history(room), ...((await opts.keepKeys?.(room)) ? [] : (opts.roomKeys?.(room) ?? []))],
    });
  }

  /** The store's generation: pages compare it across reconnects to tell when the server lost its state. */
  generation(): Promise<string> {
    return stateGeneration(this.store);
  }

  async history(room: string): Promise<ChatMessage[]> {
    return this.store.list<ChatMessage>(chatKeys.history(room));
  }

  async record(room: string, message: ChatMessage): Promise<void> {
    await this.store.append(chatKeys.history(room), message, this.historySize);
  }

  async nickname(userId: string): Promise<string | undefined> {
    return this.store.get<string>(chatKeys.nickname(userId));
  }

  /** Nicknames of several users (those without one are left out). */
  async nicknames(userIds: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...new Set(userIds)].map(async (id) => {
        const name = await this.nickname(id);
        if (name !== undefined) out.set(id, name);
      }),
    );
    return out;
  }

  /** Stores a user's nickname; past maxNicknames the least recently set ones are forgotten. */
  async setNickname(userId: string, name: string): Promise<void> {
    await this.store.set(chatKeys.nickname(userId), name);
    let evicted: string[] = [];
    await this.store.update<string[]>(chatKeys.nicknameIndex, (index) => {
      const r = touchNicknameIndex(index ?? [], userId, this.maxNicknames);
      evicted = r.evicted;
      return r.index;
    });
    for (const id of evicted) await this.store.delete(chatKeys.nickname(id));
  }
}
