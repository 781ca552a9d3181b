import type { StateStore } from '../../store/store';
import { addRoom, type Room } from './chat';
import { MAX_BASE_ROOMS } from './base-pages';

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
 * never show in its room list). At MAX_BASE_ROOMS the oldest empty one is recycled with its
 * state; when every one is in use the next room is refused, before any state of it exists.
 */
export class BaseRooms {
  readonly max: number;
  private readonly now: () => number;

  constructor(
    private readonly store: StateStore,
    private readonly o: BaseRoomsOptions,
  ) {
    this.max = o.max ?? MAX_BASE_ROOMS;
    this.now = o.now ?? Date.now;
  }

  async rooms(): Promise<Room[]> {
    return (await this.store.get<Room[]>(baseRoomsKey)) ?? [];
  }

  async has(name: string): Promise<boolean> {
    return (await this.rooms()).some((r) => r.name === name);
  }

  /** Registers a room unless it is listed; `full` when the list is at `max` and every room is in use. */
  async open(name: string, occupied: (room: string) => boolean): Promise<{ created: boolean; full?: boolean }> {
    let result: { created: boolean; full?: boolean; evicted?: string } = { created: false };
    await this.store.update<Room[]>(baseRoomsKey, (current) => {
      const rooms = current ?? [];
      const r = addRoom(rooms, name, { max: this.max, now: this.now(), occupied, builtin: [] });
      if ('full' in r) {
        result = { created: false, full: true };
        return rooms;
      }
      result = r;
      return r.rooms;
    });
    if (result.evicted !== undefined && !(await this.o.keepKeys?.(result.evicted))) {
      for (const key of this.o.roomKeys(result.evicted)) await this.store.delete(key);
    }
    return result.full ? { created: false, full: true } : { created: result.created };
  }
}
