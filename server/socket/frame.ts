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

/** What the batch needs of a connection: its socket, its write delay, a slot, and a check once the writes are handed over. */
export interface BatchTarget {
  readonly socket: Socket;
  /** 0: flushed once the current I/O phase is done; more: frames to it are coalesced for this long. */
  readonly writeDelayMs: number;
  /** The batch's own slot: this turn's only frame so far, or `corked` once a second one came. */
  batched: Buffer | undefined;
  /**
   * False once the connection is closing. A frame held when the peer's close frame arrived is
   * then not written: ws has answered the close already, and nothing may follow a close frame.
   */
  readonly writable: boolean;
  /** Called after the writes, when buffered bytes measure what the peer has not taken. */
  checkBacklog(): void;
}

/** Marks a target whose socket the batch corked: its frames are already written into the cork. */
const corked = Buffer.alloc(0);

/**
 * Coalesces writes per socket. A socket's first frame of a turn is held; a second one corks the
 * socket and both are written into the cork. One flush then hands each socket over: a held frame
 * as one plain `write` (most sockets get one frame a turn, and a cork for one frame is only
 * overhead), a corked socket by uncorking it, so its frames leave in a single writev. The flush
 * runs in `setImmediate`, after every I/O callback of this loop turn and their microtasks: frames
 * from many publishers read in one poll phase, and frames written after an `authorize` hook or an
 * async handler resolved, still share it. A socket with a write delay is flushed by a timer
 * instead. Backlogs are judged after the writes: held bytes are this turn's output, not a slow
 * reader's.
 */
export class WriteBatch {
  private pending: BatchTarget[] = [];
  private scheduled = false;
  /** Sockets waiting out a write delay, by delay: one timer per delay in use. */
  private readonly delayed = new Map<number, BatchTarget[]>();

  write(target: BatchTarget, frame: Buffer): void {
    const held = target.batched;
    if (held === corked) return void target.socket.write(frame);
    if (held !== undefined) {
      target.batched = corked;
      target.socket.cork();
      target.socket.write(held);
      target.socket.write(frame);
      return;
    }
    target.batched = frame;
    if (target.writeDelayMs > 0) this.later(target);
    else {
      this.pending.push(target);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    }
  }

  /**
   * Writes a socket's held frame into a cork now, before ws writes a frame of its own (a close)
   * that must not overtake it; the flush still uncorks it with the rest.
   */
  settle(target: BatchTarget): void {
    const held = target.batched;
    if (held === undefined || held === corked) return;
    target.batched = corked;
    target.socket.cork();
    target.socket.write(held);
  }

  private later(target: BatchTarget): void {
    const delay = target.writeDelayMs;
    const waiting = this.delayed.get(delay);
    if (waiting) return void waiting.push(target);
    this.delayed.set(delay, [target]);
    setTimeout(() => {
      const due = this.delayed.get(delay)!;
      this.delayed.delete(delay);
      hand(due);
    }, delay);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = [];
    hand(pending);
  };
}

function hand(targets: BatchTarget[]): void {
  for (const t of targets) {
    const held = t.batched!;
    t.batched = undefined;
    if (held === corked) t.socket.uncork();
    else if (t.writable) t.socket.write(held);
  }
  for (const t of targets) t.checkBacklog();
}
