import { SocketError, ErrorCode } from '../../socket';
import type { StateStore } from '../../store/store';
import { baseLimits, type BaseCell, type BaseTask, type kanbanColumns } from './base-pages';

/**
 * What Base Framework's hub never kept, so that a Base page joining a room sees the room as it
 * is: kanban.html's cards and spreadsheet.html's cells, per room, in the StateStore (in memory,
 * or Redis in a cluster). Bounded by baseLimits. The whiteboard and the editor keep their own
 * state, which the Base pages share through the bridges (draw/ and editor/ base-bridge.ts).
 */
export const baseKeys = {
  /** BaseTask[]: a room's cards, in the order they were added. */
  tasks: (room: string) => `base:${room}:tasks`,
  /** Record<cell id, BaseCell>: a room's non-empty cells. */
  cells: (room: string) => `base:${room}:cells`,
} as const;

type Column = (typeof kanbanColumns)[number];

export class BaseState {
  constructor(private readonly store: StateStore) {}

  async tasks(room: string): Promise<BaseTask[]> {
    return (await this.store.get<BaseTask[]>(baseKeys.tasks(room))) ?? [];
  }

  /**
   * Adds a card. A card whose id is taken (two pages made `task_<Date.now()>` in the same
   * millisecond) gets a fresh one: the page adds cards from the echo, by its id, so it shows it.
   */
  async addTask(room: string, task: BaseTask): Promise<BaseTask> {
    let added = task;
    await this.store.update<BaseTask[]>(baseKeys.tasks(room), (current) => {
      const tasks = current ?? [];
      if (tasks.length >= baseLimits.maxTasks) throw new SocketError(ErrorCode.limitExceeded, `a board holds at most ${baseLimits.maxTasks} cards`);
      added = task;
      for (let n = 2; tasks.some((t) => t.id === added.id); n++) added = { ...task, id: `${task.id.slice(0, 56)}_${n}` };
      return [...tasks, added];
    });
    return added;
  }

  /** Removes a card; false when there was none with that id. */
  async deleteTask(room: string, id: string): Promise<boolean> {
    let found = false;
    await this.store.update<BaseTask[]>(baseKeys.tasks(room), (current) => {
      const tasks = current ?? [];
      found = tasks.some((t) => t.id === id);
      return tasks.filter((t) => t.id !== id);
    });
    return found;
  }

  /** Moves a card to a column (to the end of it, as kanban.html shows a drop); false when there is no such card. */
  async moveTask(room: string, id: string, column: Column): Promise<boolean> {
    let found = false;
    await this.store.update<BaseTask[]>(baseKeys.tasks(room), (current) => {
      const tasks = current ?? [];
      const task = tasks.find((t) => t.id === id);
      found = task !== undefined;
      return task ? [...tasks.filter((t) => t !== task), { ...task, column }] : tasks;
    });
    return found;
  }

  /** The room's non-empty cells. */
  async cells(room: string): Promise<BaseCell[]> {
    return Object.values((await this.store.get<Record<string, BaseCell>>(baseKeys.cells(room))) ?? {});
  }

  /** Sets a cell (an empty value removes it). */
  async setCell(room: string, cell: BaseCell): Promise<void> {
    await this.store.update<Record<string, BaseCell>>(baseKeys.cells(room), (current) => {
      const cells = { ...current };
      delete cells[cell.id];
      if (cell.value === '') return cells;
      if (Object.keys(cells).length >= baseLimits.maxCells) throw new SocketError(ErrorCode.limitExceeded, `a sheet holds at most ${baseLimits.maxCells} cells`);
      const chars = Object.values(cells).reduce((n, c) => n + c.value.length, cell.value.length);
      if (chars > baseLimits.maxSheetChars) throw new SocketError(ErrorCode.limitExceeded, `a sheet holds at most ${baseLimits.maxSheetChars} characters`);
      cells[cell.id] = cell;
      return cells;
    });
  }
}
