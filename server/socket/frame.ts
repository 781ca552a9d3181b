import type { Socket } from 'node:net';

/**
 * A server-to-client WebSocket text frame (RFC 6455 §5.2): FIN and opcode 1, no mask, the payload
 * length in 7, 16 or 64 bits, then the UTF-8 payload, in one buffer. Built once per broadcast and
 * written to every recipient's TCP socket, instead of each `ws.send` encoding and framing the
 * text again. Our own encoder rather than ws's undocumented `Sender.frame`, which a ws upgrade
 * could change; safe beside ws because permessage-deflate is off, so ws keeps no send queue of
 * its own that these writes could overtake.
 */
export function textFrame(data: string, bytes = Buffer.byteLength(data)): Buffer {
  const head = bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + bytes);
  frame[0] = 0x81;
  if (head === 2) frame[1] = bytes;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(bytes, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(bytes), 2);
  }
  frame.write(data, head, 'utf8');
  return frame;
}

/** What the batch needs of a connection: its socket, its write delay, and a check once the writes are handed over. */
export interface BatchTarget {
  readonly socket: Socket;
  /** 0: flushed once the current I/O phase is done; more: frames to it are coalesced for this long. */
  readonly writeDelayMs: number;
  /** Called after uncork, when buffered bytes measure what the peer has not taken. */
  checkBacklog(): void;
}

/**
 * Coalesces writes per socket: the first write corks the socket, and one flush uncorks every
 * corked socket, so many frames to one client leave in a single writev instead of one syscall
 * each. The flush runs in `setImmediate`, after every I/O callback of this loop turn and their
 * microtasks: frames from many publishers read in one poll phase, and frames written after an
 * `authorize` hook or an async handler resolved, still share it. A socket with a write delay is
 * flushed by a timer instead. Backlogs are judged after uncorking: corked bytes are this turn's
 * output, not a slow reader's.
 */
export class WriteBatch {
  private corked: BatchTarget[] = [];
  private scheduled = false;
  /** Sockets waiting out a write delay, by delay: one timer per delay in use. */
  private readonly delayed = new Map<number, BatchTarget[]>();

  write(target: BatchTarget, frame: Buffer): void {
    const { socket } = target;
    if (socket.writableCorked === 0) {
      socket.cork();
      if (target.writeDelayMs > 0) this.later(target);
      else {
        this.corked.push(target);
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(this.flush);
        }
      }
    }
    socket.write(frame);
  }

  private later(target: BatchTarget): void {
    const delay = target.writeDelayMs;
    const waiting = this.delayed.get(delay);
    if (waiting) return void waiting.push(target);
    this.delayed.set(delay, [target]);
    setTimeout(() => {
      const due = this.delayed.get(delay)!;
      this.delayed.delete(delay);
      uncork(due);
    }, delay);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const corked = this.corked;
    this.corked = [];
    uncork(corked);
  };
}

function uncork(targets: BatchTarget[]): void {
  for (const t of targets) t.socket.uncork();
  for (const t of targets) t.checkBacklog();
}
