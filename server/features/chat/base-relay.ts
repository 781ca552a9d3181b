import { describeIssues, ErrorCode, type Session, SocketError, type Sockets, Throttle } from '../../socket';
import type { StateStore } from '../../store/store';
import type { Thresholds } from '../monitor/metrics';
import { baseReplay, clearFromBase, lineFromBase } from '../draw/base-bridge';
import type { DrawLimits } from '../draw/canvas';
import { drawChannel, finishLive } from '../draw/ink';
import { codeFromBase, roomCode } from '../editor/base-bridge';
import { BaseMonitor } from './base-monitor';
import { baseContent, baseLimits, type BasePage, serverOnlyTypes } from './base-pages';
import { BaseState } from './base-state';
import { roomOf } from './chat';
import type { ChatState } from './chat-state';
import { chat } from './protocol';

export interface BaseRelayOptions {
  store: StateStore;
  chatState: ChatState;
  /** The whiteboard's limits (Base strokes are drawn on it). */
  drawLimits: DrawLimits;
  /** The editor's largest document, in bytes (Base texts are merged into it). */
  maxDocBytes: number;
  /** monitor.html's real metrics: sampled like the monitor example. */
  monitor: { intervalMs: number; thresholds: Thresholds };
}

/** Chat's own types: they reach the chat cmds through the codec, never `base`. */
const chatTypes = new Set(['message', 'chat', 'typing', 'private', 'nickname', 'create_room']);

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, type: string, content: unknown): T {
  const r = schema.safeParse(content);
  if (r.success) return r.data;
  throw new SocketError(ErrorCode.invalidParam, describeIssues('content', type, r.error));
}

/**
 * What Base Framework's pages send besides chat (draw, kanban, editor, spreadsheet, monitor, and
 * any other type): checked, bounded, kept where a late joiner needs it, bridged to wsforge's
 * own examples where both model the same thing, and relayed to the whole room, the sender
 * included, like Base's hub. The sender's name is the server's, in the envelope and inside
 * `content` (draw.html and the cursors read it there); docs/examples.md has the whole table.
 */
export class BaseRelay {
  private readonly state: BaseState;
  /** Connections whose first `code_update` (editor.html sends its template on open) was handled. */
  private readonly coded = new WeakSet<Session>();
  /** Each connection's newest cursor frame not yet relayed, sent by `cursors` (at most one per cursorIntervalMs). */
  private readonly pendingCursor = new Map<Session, { svc: Sockets; type: string; content: Record<string, unknown>; name: string }>();
  private readonly cursors = new Throttle<Session>(
    (conn) => this.sendCursor(conn),
    () => baseLimits.cursorIntervalMs,
  );
  private readonly names = new WeakMap<Session, { name: string; until: number }>();
  /** Base drawers' idle timers: their stroke is committed when they stop. */
  private readonly idle = new Map<string, NodeJS.Timeout>();
  private monitor?: BaseMonitor;

  constructor(private readonly o: BaseRelayOptions) {
    this.state = new BaseState(o.store);
  }

  /** The sender's display name (its chat nickname, if any), looked up at most once a second per connection. */
  private async nameOf(conn: Session): Promise<string> {
    const cached = this.names.get(conn);
    const now = Date.now();
    if (cached && cached.until > now) return cached.name;
    const name = (await this.o.chatState.nickname(conn.profile.id)) ?? conn.profile.name;
    this.names.set(conn, { name, until: now + 1000 });
    return name;
  }

  /**
   * Sends a Base frame to the connection's whole room, the sender included unless excepted.
   * Volatile: Base pages never resume, and a Base page's stream of cursor moves and lines must
   * not push the room's chat messages out of the history that chat pages resume from.
   */
  private relay(svc: Sockets, conn: Session, type: string, content: unknown, name: string, ...except: string[]): void {
    svc.writeChannelVolatile(chat.message(conn.channel, 'base', { type, content, name, userId: conn.profile.id }), ...except);
  }

  /** Sends a Base frame (state, not anyone's action) to one connection. */
  private send(svc: Sockets, conn: Session, type: string, content: unknown): void {
    svc.writeConnection(conn.id, chat.message(conn.channel, 'base', { type, content }));
  }

  /**
   * Relays a connection's newest cursor frame. At most one per cursorIntervalMs: frames in between
   * are replaced by newer ones, and the newest is sent when the interval ends. draw.html sends a
   * `cursor_move` per mouse move and no final one, so the position where a pointer stops always arrives.
   * Synchronous, so a frame sent at once keeps its place among the connection's other frames.
   */
  private sendCursor(conn: Session): void {
    const pending = this.pendingCursor.get(conn);
    this.pendingCursor.delete(conn);
    if (!pending) return;
    if (!pending.svc.getConnection(conn.id)) return this.cursors.forget(conn); // closed before its frame was handled: keep nothing of it
    this.relay(pending.svc, conn, pending.type, { ...pending.content, nickname: pending.name }, pending.name);
  }

  /** One `base` frame from a connection of a chat room. */
  async handle(svc: Sockets, conn: Session, type: string, content: unknown): Promise<void> {
    const room = roomOf(conn.channel);
    if (room === undefined) throw new Error(`chat route channel "${conn.channel}" is not a room channel`);
    if (serverOnlyTypes.has(type)) throw new SocketError(ErrorCode.forbidden, `"${type}" frames come from the server`);
    if (chatTypes.has(type)) throw new SocketError(ErrorCode.invalidParam, `"${type}" is a chat frame, not a relayed one`);
    switch (type) {
      case 'system_metrics':
        return; // monitor.html's made-up numbers: the server sends real ones (base-monitor.ts)
      case 'draw': {
        const line = parse(baseContent.draw, type, content);
        const name = await this.nameOf(conn);
        this.relay(svc, conn, type, { ...line, nickname: name }, name);
        await lineFromBase(svc, this.o.store, this.o.drawLimits, conn.id, name, room, line);
        this.strokeIdle(svc, conn.id, room);
        return;
      }
      case 'clear': {
        const name = await this.nameOf(conn);
        this.relay(svc, conn, type, undefined, name);
        await clearFromBase(svc, this.o.store, room, name);
        return;
      }
      case 'cursor_move':
      case 'cursor_update': {
        const cursor = parse(type === 'cursor_move' ? baseContent.cursor_move : baseContent.cursor_update, type, content);
        this.pendingCursor.set(conn, { svc, type, content: cursor, name: await this.nameOf(conn) });
        this.cursors.poke(conn);
        return;
      }
      case 'code_update':
        return this.code(svc, conn, room, parse(baseContent.code_update, type, content));
      case 'add_task': {
        const card = parse(baseContent.add_task, type, content);
        const name = await this.nameOf(conn);
        const task = await this.state.addTask(room, { ...card, assignee: name });
        this.relay(svc, conn, type, task, name);
        return;
      }
      case 'delete_task': {
        const { id } = parse(baseContent.delete_task, type, content);
        if (await this.state.deleteTask(room, id)) this.relay(svc, conn, type, { id }, await this.nameOf(conn));
        return;
      }
      case 'move_task':
      case 'task_moved': {
        // kanban.html sends move_task and listens for task_moved: everyone gets task_moved.
        const { taskId, newColumn } = parse(baseContent.move_task, type, content);
        if (await this.state.moveTask(room, taskId, newColumn)) this.relay(svc, conn, 'task_moved', { taskId, newColumn }, await this.nameOf(conn));
        return;
      }
      case 'request_tasks':
        this.send(svc, conn, 'tasks_update', await this.state.tasks(room));
        return;
      case 'cell_update': {
        const cell = parse(baseContent.cell_update, type, content);
        await this.state.setCell(room, cell);
        this.relay(svc, conn, type, cell, await this.nameOf(conn));
        return;
      }
      case 'request_data':
        this.send(svc, conn, 'full_update', await this.state.cells(room));
        return;
      default:
        return this.other(svc, conn, type, content);
    }
  }

  /**
   * editor.html's whole text. Its first one is the template the page sends when it connects:
   * when the room already has a document, that one is not applied and the page gets the room's
   * text instead. Not echoed to its sender: the page applies every `code_update` it gets with
   * setValue, so an echo racing the user's typing would take back keystrokes.
   */
  private async code(svc: Sockets, conn: Session, room: string, text: string): Promise<void> {
    if (!this.coded.has(conn)) {
      this.coded.add(conn);
      const current = await roomCode(this.o.store, room);
      if (current !== undefined) {
        if (current !== text) this.send(svc, conn, 'code_update', current);
        return;
      }
    }
    const name = await this.nameOf(conn);
    await codeFromBase(svc, this.o.store, this.o.maxDocBytes, room, conn.id, text);
    this.relay(svc, conn, 'code_update', text, name, conn.id);
  }

  /** A type without a meaning here (or `selection_update`, which no page can show): relayed as it is, within bounds. */
  private async other(svc: Sockets, conn: Session, type: string, content: unknown): Promise<void> {
    const json = JSON.stringify(content ?? null);
    if (json.length > baseLimits.maxRelayBytes) {
      throw new SocketError(ErrorCode.limitExceeded, `content of "${type}" is ${json.length} bytes as JSON; at most ${baseLimits.maxRelayBytes} are relayed`);
    }
    const name = await this.nameOf(conn);
    // A `nickname` inside content is the sender's, as in draw.html's frames: never the client's word.
    const relayed = typeof content === 'object' && content !== null && !Array.isArray(content) && 'nickname' in content ? { ...content, nickname: name } : content;
    this.relay(svc, conn, type, relayed ?? null, name);
  }

  /** Commits a Base drawer's stroke once it has drawn nothing for strokeIdleMs (draw.html never says when a stroke ends). */
  private strokeIdle(svc: Sockets, connId: string, room: string): void {
    clearTimeout(this.idle.get(connId));
    const timer = setTimeout(() => {
      this.idle.delete(connId);
      finishLive(svc, this.o.store, drawChannel(room), connId, this.o.drawLimits).catch(() => {});
    }, baseLimits.strokeIdleMs);
    timer.unref();
    this.idle.set(connId, timer);
  }

  /**
   * A Base connection has opened (after chat's own welcome, the `users_update`): the room's
   * state in the frames its page reads. chat.html and other clients: the recent messages;
   * draw.html: the whiteboard as `draw` lines; monitor.html: the recent samples, then one every
   * interval. kanban.html and spreadsheet.html ask (`request_tasks`, `request_data`), and
   * editor.html's template is answered with the room's text (code()).
   */
  async welcome(svc: Sockets, conn: Session, page: BasePage): Promise<void> {
    const room = roomOf(conn.channel);
    if (room === undefined) return;
    switch (page) {
      case 'chat':
      case 'generic':
        for (const m of await this.o.chatState.history(room)) svc.writeConnection(conn.id, chat.message(conn.channel, 'message', m));
        return;
      case 'draw':
        for (const line of await baseReplay(this.o.store, room, baseLimits.maxReplayLines)) this.send(svc, conn, 'draw', line);
        return;
      case 'monitor':
        this.monitor ??= new BaseMonitor(svc, { ...this.o.monitor, replay: baseLimits.monitorReplay });
        this.monitor.add(conn.id, conn.channel);
        return;
      default:
        return;
    }
  }

  /** A Base connection closed: its stroke in progress is committed, its metrics and held-back cursor stop. */
  async closed(svc: Sockets, conn: Session): Promise<void> {
    this.monitor?.remove(conn.id); // nothing for a connection that does not watch
    this.cursors.forget(conn);
    this.pendingCursor.delete(conn);
    const timer = this.idle.get(conn.id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.idle.delete(conn.id);
    const room = roomOf(conn.channel);
    if (room !== undefined) await finishLive(svc, this.o.store, drawChannel(room), conn.id, this.o.drawLimits);
  }

  /** Whether monitor.html clients are being sampled for (tests). */
  get sampling(): boolean {
    return this.monitor?.running ?? false;
  }
}
