import type { StateStore } from '../../store/store';
import { MAX_BASE_ROOMS } from './base-pages';
import { RoomRegistry } from './room-registry';

/** Store key of the Base page rooms' list (Room[], oldest first). */
export const baseRoomsKey = 'base:rooms';

export interface BaseRoomsOptions {
  max?: number;
  now?: () => number;
  /** The keys of a room's Base state, deleted when the room is recycled. */
  roomKeys: (room: string) => string[];
  /** Whether a room's keys are still another registry's (a chat room of the same name): then they are kept. */
  keepKeys?: (room: string) => Promise<boolean>;
}

/**
 * The rooms of Base's non-chat pages (draw.html, kanban.html, editor.html, monitor.html,
 * spreadsheet.html): their own bounded list, apart from the chat's (they are not chat rooms and
 * never show in its room list), with no built-in room. At MAX_BASE_ROOMS the oldest empty one is
 * recycled with its state; when every one is in use the next room is refused.
 */
export function baseRooms(store: StateStore, o: BaseRoomsOptions): RoomRegistry {
  return new RoomRegistry(store, {
    key: baseRoomsKey,
    max: o.max ?? MAX_BASE_ROOMS,
    now: o.now,
    builtin: [],
    recycled: async (room) => ((await o.keepKeys?.(room)) ? [] : o.roomKeys(room)),
  });
}
