import { defineHandler, type Handler, type Session, SocketError, type Sockets } from '../../socket';
import { stateGeneration } from '../../store/generation';
import type { StateStore } from '../../store/store';
import { BoardError, execute, kanbanLimits, newBoard, type Board, type Command, type Op } from './board';
import { kanban } from './protocol';

/** State in the store: the board of room channel `kanban:<room>` at `kanban:<room>:board`. */
const boardKey = (channel: string) => `${channel}:board`;

export interface KanbanHandlerOptions {
  limits?: typeof kanbanLimits;
  now?: () => number;
}

export function kanbanHandler(store: StateStore, options: KanbanHandlerOptions = {}): Handler {
  const limits = options.limits ?? kanbanLimits;
  const now = options.now ?? Date.now;

  /**
   * One command: read-modify-write of the board in the store (so concurrent commands, from this
   * node or another, are applied one after the other), then the op to everyone in the room.
   */
  async function run(svc: Sockets, conn: Session, cmd: Command): Promise<{ version: number; op?: Op }> {
    const channel = conn.channel;
    let op: Op | undefined;
    let board: Board;
    try {
      board = await store.update<Board>(boardKey(channel), (current) => {
        const r = execute(current ?? newBoard(), cmd, conn.profile.name, now(), limits);
        op = r.op;
        return r.board;
      });
    } catch (err) {
      if (err instanceof BoardError) throw new SocketError(err.code, err.message);
      throw err;
    }
    if (op) svc.writeChannel(kanban.message(channel, 'op', { version: board.version, by: conn.profile.name, op }));
    return { version: board.version, op };
  }

  return defineHandler(kanban, {
    async sync(svc, conn) {
      const generation = await stateGeneration(store);
      const board = (await store.get<Board>(boardKey(conn.channel))) ?? newBoard();
      return { generation, board, users: svc.getUsersByChannel(conn.channel), me: { id: conn.profile.id, name: conn.profile.name }, limits };
    },
    async add(svc, conn, { column, text, before }) {
      const { version, op } = await run(svc, conn, { type: 'add', column, text, before });
      return { version, card: op?.type === 'add' ? op.card.id : '' };
    },
    edit: async (svc, conn, { card, text, version }) => ({ version: (await run(svc, conn, { type: 'edit', card, text, version })).version }),
    move: async (svc, conn, { card, column, before }) => ({ version: (await run(svc, conn, { type: 'move', card, column, before })).version }),
    delete: async (svc, conn, { card, version }) => ({ version: (await run(svc, conn, { type: 'delete', card, version })).version }),
    restore: async (svc, conn, { card }) => ({ version: (await run(svc, conn, { type: 'restore', card })).version }),
  });
}
