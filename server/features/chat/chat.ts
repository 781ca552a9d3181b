/**
 * The chat example's rules, pure: names, limits, room list, nicknames, rate limits. No zod and
 * no server imports, so the browser page can import the constants and channel helpers too.
 */
import { roomPattern } from '../room';

/** Room the page and Base clients enter when no `?room=` is given (Base's default). */
export const DEFAULT_ROOM = 'general';
/** Rooms that exist from the start and are never recycled. */
const BUILTIN_ROOMS: readonly string[] = ['general', 'random'];
/** Most rooms at once. At the limit, creating a room recycles the oldest empty non-built-in one. */
export const MAX_ROOMS = 50;
/** Messages a room keeps for late joiners (oldest dropped first). */
export const HISTORY_SIZE = 50;
/** Longest chat or private message, in characters. */
export const MAX_MESSAGE_LENGTH = 2000;
/** Longest nickname, in characters (the guest identity's display names are 32 too). */
export const MAX_NICKNAME_LENGTH = 32;
/** Nicknames kept in the store; setting one past it forgets the least recently set. */
export const MAX_NICKNAMES = 10_000;
/** A room's user list and the room directory go out at most this often (handler.ts). */
export const LIST_INTERVAL_MS = 250;
/** How long a typing indicator lasts without a refresh: clients drop it after this. */
export const TYPING_TTL_MS = 4000;
/** Typing frames closer together than this from one connection are dropped by the server. */
export const TYPING_MIN_INTERVAL_MS = 500;
/** Messages (chat + private) one connection may send in a burst, then MESSAGE_REFILL_MS each. */
export const MESSAGE_BURST = 10;
export const MESSAGE_REFILL_MS = 500;

/** Room names: what `?room=` and `create-room` accept. */
export { roomPattern };
/** Names only the server may use. */
const reservedNames = new Set(['system', 'server', 'admin']);

/** The channel every chat connection is in: room list and private messages travel on it. */
export const DIRECTORY = 'chat';
/** A room's channel: `chat:<room>`, so chat rooms never mix with other features' channels. */
export const roomChannel = (room: string): string => `chat:${room}`;
/** The room of a room channel, or undefined for any other channel (the directory included). */
export function roomOf(channel: string): string | undefined {
  if (!channel.startsWith('chat:')) return undefined;
  const room = channel.slice(5);
  return roomPattern.test(room) ? room : undefined;
}

export interface ChatUser {
  id: string;
  name: string;
}

export interface ChatMessage {
  id: string;
  userId: string;
  name: string;
  text: string;
  time: number;
  /** The sender page's own id for it (`say`'s clientMsgId): how that page knows its message once delivered. */
  clientMsgId?: string;
}

export interface Room {
  name: string;
  created: number;
}

/**
 * A display name as chat accepts it: control and format characters removed, whitespace runs
 * collapsed, trimmed, 1–MAX_NICKNAME_LENGTH characters, not a reserved name. Returns the cleaned
 * name or an error message.
 */
export function checkNickname(raw: string): { name: string } | { error: string } {
  const name = raw.replace(/[\p{C}]/gu, '').replace(/\s+/gu, ' ').trim();
  if (!name) return { error: 'nickname must not be empty' };
  if ([...name].length > MAX_NICKNAME_LENGTH) return { error: `nickname must be at most ${MAX_NICKNAME_LENGTH} characters` };
  if (reservedNames.has(name.toLowerCase())) return { error: `"${name}" is reserved` };
  return { name };
}

/**
 * Adds a room to the list (oldest first). At `max` rooms it recycles the oldest room that is not
 * built in and has nobody in it; when every room is busy the list is full.
 */
export function addRoom(
  rooms: readonly Room[],
  name: string,
  opts: { max: number; now: number; occupied: (room: string) => boolean; builtin?: readonly string[] },
): { rooms: Room[]; created: boolean; evicted?: string } | { full: true } {
  if (rooms.some((r) => r.name === name)) return { rooms: [...rooms], created: false };
  const next = [...rooms];
  let evicted: string | undefined;
  if (next.length >= opts.max) {
    const builtin = opts.builtin ?? BUILTIN_ROOMS;
    const i = next.findIndex((r) => !builtin.includes(r.name) && !opts.occupied(r.name));
    if (i < 0) return { full: true };
    evicted = next.splice(i, 1)[0]!.name;
  }
  next.push({ name, created: opts.now });
  return evicted === undefined ? { rooms: next, created: true } : { rooms: next, created: true, evicted };
}

/** The built-in rooms, for a store that has no room list yet. */
export function initialRooms(now: number): Room[] {
  return BUILTIN_ROOMS.map((name) => ({ name, created: now }));
}

/**
 * Most-recently-set order of user ids with nicknames: moves `id` to the end and drops the
 * oldest past `max`. Returns the new order and the ids whose nicknames should be forgotten.
 */
export function touchNicknameIndex(index: readonly string[], id: string, max: number): { index: string[]; evicted: string[] } {
  const next = index.filter((x) => x !== id);
  next.push(id);
  const evicted = next.length > max ? next.splice(0, next.length - max) : [];
  return { index: next, evicted };
}

/** Users with their nicknames: a nickname replaces the display name the connection came with. */
export function withNicknames(users: readonly ChatUser[], names: ReadonlyMap<string, string>): ChatUser[] {
  return users.map((u) => ({ id: u.id, name: names.get(u.id) ?? u.name }));
}

/** Token bucket: `burst` actions at once, then one per `refillMs`. */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token; false when the bucket is empty (the action should be refused). */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.refillMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Who is typing, as a client shows it: entries expire `ttlMs` after their last refresh. */
export class TypingSet {
  private readonly until = new Map<string, { name: string; until: number }>();

  set(userId: string, name: string, typing: boolean, now: number, ttlMs: number): void {
    if (typing) this.until.set(userId, { name, until: now + ttlMs });
    else this.until.delete(userId);
  }

  delete(userId: string): void {
    this.until.delete(userId);
  }

  clear(): void {
    this.until.clear();
  }

  /** Names of users still typing at `now`; expired entries are dropped. */
  names(now: number): string[] {
    const out: string[] = [];
    for (const [id, t] of this.until) {
      if (t.until <= now) this.until.delete(id);
      else out.push(t.name);
    }
    return out;
  }

  /** The earliest expiry still pending, to schedule the next refresh; undefined when empty. */
  nextExpiry(): number | undefined {
    let min: number | undefined;
    for (const t of this.until.values()) if (min === undefined || t.until < min) min = t.until;
    return min;
  }
}

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…", or '' for nobody. */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
