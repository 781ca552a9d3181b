import type { StateStore } from '../../store/store';
import { addRoom, type Room } from './chat';

export interface RoomRegistryOptions {
  /** Store key of the list (Room[], oldest first). */
  key: string;
  /** Rooms kept at most: at this many, opening one recycles the oldest empty room. */
  max: number;
  now?: () => number;
  /** The list before any room was opened (none by default). */
  initial?: (now: number) => Room[];
  /** Rooms never recycled (addRoom's default, the chat's built-in rooms, when not given). */
  builtin?: readonly string[];
  /** The store keys of a recycled room's state, deleted with it. */
  recycled: (room: string) => Promise<string[]>;
}

/**
 * A bounded list of rooms in the StateStore, shared by every node. Opening a room at `max`
 * recycles the oldest empty one (not built in) and deletes its state; when every room is in use
 * the room is refused before any state of it exists.
 */
export class RoomRegistry {
  readonly max: number;
  private readonly now: () => number;

  constructor(
    private readonly store: StateStore,
    private readonly o: RoomRegistryOptions,
  ) {
    this.max = o.max;
    this.now = o.now ?? Date.now;
  }

  async list(): Promise<Room[]> {
    return (await this.store.get<Room[]>(this.o.key)) ?? this.o.initial?.(this.now()) ?? [];
  }

  async has(name: string): Promise<boolean> {
    return (await this.list()).some((r) => r.name === name);
  }

  /** Registers a room unless it is listed; `full` when the list is at `max` and every room is in use. */
  async open(name: string, occupied: (room: string) => boolean): Promise<{ created: boolean; full?: boolean }> {
    // update() may run its function again (a lost race on another node): the last run is the one stored.
    const last: { result?: ReturnType<typeof addRoom> } = {};
    await this.store.update<Room[]>(this.o.key, (current) => {
      const rooms = current ?? this.o.initial?.(this.now()) ?? [];
      const r = (last.result = addRoom(rooms, name, { max: this.max, now: this.now(), occupied, builtin: this.o.builtin }));
      return 'full' in r ? rooms : r.rooms;
    });
    const result = last.result!;
    if ('full' in result) return { created: false, full: true };
    if (result.evicted !== undefined) for (const key of await this.o.recycled(result.evicted)) await this.store.delete(key);
    return { created: result.created };
  }
}
