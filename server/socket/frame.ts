import type { Socket } from 'node:net';
import * as ws from 'ws';

/** ws exports its Sender (whose static `frame` builds a frame) but @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

/**
 * The send path of a broadcast: the WebSocket frame (header + UTF-8 payload) is built once and
 * the same buffer is written to every recipient's TCP socket, instead of each `ws.send`
 * encoding and framing the text again. Safe because permessage-deflate is off, so ws keeps no
 * send queue of its own that such writes could overtake.
 */
export function textFrame(data: string): Buffer {
  const parts = Sender.frame(Buffer.from(data), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** What the batch needs of a connection: its socket, and a check once the writes are handed over. */
export interface BatchTarget {
  readonly socket: Socket;
  /** Called after uncork, when buffered bytes measure what the peer has not taken. */
  checkBacklog(): void;
}

/**
 * Coalesces the writes of one event-loop turn per socket: the first write corks the socket,
 * and one microtask uncorks every corked socket, so many frames to one client leave in a
 * single writev instead of one syscall each. Backlogs are judged after uncorking: corked
 * bytes are this turn's output, not a slow reader's.
 */
export class WriteBatch {
  private readonly corked: BatchTarget[] = [];
  private scheduled = false;

  write(target: BatchTarget, frame: Buffer): void {
    const { socket } = target;
    if (socket.writableCorked === 0) {
      socket.cork();
      this.corked.push(target);
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.flush);
      }
    }
    socket.write(frame);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const corked = this.corked.splice(0);
    for (const t of corked) t.socket.uncork();
    for (const t of corked) t.checkBacklog();
  };
}
