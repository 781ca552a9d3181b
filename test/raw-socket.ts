/**
 * A deliberately minimal WebSocket client over a plain TCP socket, for sending what `ws` refuses
 * to produce: invalid UTF-8, bad fragment sequences, oversized or unterminated frames, ping
 * floods, half-finished handshakes. It writes RFC 6455 frames byte by byte and parses what the
 * server sends back (text frames and the close frame's code).
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameOptions {
  /** Last fragment of the message. Default true. */
  fin?: boolean;
  /** Client frames must be masked (RFC 6455 §5.3); false sends an unmasked one. Default true. */
  mask?: boolean;
  /** Claimed payload length, when it should differ from the real one (a truncated frame). */
  claimedLength?: number;
  /** Sets RSV1 (only meaningful with a negotiated extension, so a protocol error here). */
  rsv1?: boolean;
}

/** One client-to-server frame: header, 4-byte mask, masked payload. */
export function encodeFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), { fin = true, mask = true, claimedLength, rsv1 = false }: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = claimedLength ?? data.length;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(maskBit | 127, ...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A raw connection: the handshake is done by `open`, then frames go out as bytes. */
export class RawSocket {
  /** Text frames received, as strings. */
  readonly texts: string[] = [];
  /** Pongs received. */
  pongs = 0;
  /** The code of the server's close frame, if one came. */
  closeCode?: number;
  /** Frames that came after the server's close frame (RFC 6455 allows none). */
  framesAfterClose = 0;
  /** Settles when the TCP connection has ended. */
  readonly ended: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private handshake!: { resolve: (status: number) => void; reject: (err: Error) => void };

  private constructor(readonly socket: Socket) {
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** TCP connect only: nothing is sent (a half-open connection, or a handshake written by hand). */
  static async tcp(port: number): Promise<RawSocket> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSocket(socket);
  }

  /** Connects and completes a WebSocket handshake; rejects with the status when it is refused. */
  static async open(port: number, path: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    const raw = await RawSocket.tcp(port);
    const status = await raw.upgrade(path, headers);
    if (status !== 101) {
      raw.destroy();
      throw new Error(`handshake refused: HTTP ${status}`);
    }
    return raw;
  }

  /** Writes the upgrade request and resolves with the response status. */
  upgrade(path: string, headers: Record<string, string> = {}): Promise<number> {
    const lines = [
      `GET ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    const status = new Promise<number>((resolve, reject) => {
      this.handshake = { resolve, reject };
      this.socket.once('close', () => reject(new Error('connection closed during the handshake')));
    });
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return status;
  }

  get open(): boolean {
    return !this.socket.destroyed && this.socket.readyState === 'open';
  }

  /** Writes bytes as they are (a frame, part of one, several at once). */
  write(bytes: Buffer | string): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(bytes);
  }

  frame(opcode: number, payload?: Buffer | string, options?: FrameOptions): boolean {
    return this.write(encodeFrame(opcode, payload, options));
  }

  text(payload: string | Buffer, options?: FrameOptions): boolean {
    return this.frame(Opcode.text, payload, options);
  }

  /** Waits for the server to end the connection; resolves with its close code (undefined: none sent). */
  async closed(timeoutMs = 5000): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ended,
      new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`the server did not close within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return this.closeCode;
  }

  /** Stops reading: the kernel buffers fill and the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.buffer.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      this.buffer = this.buffer.subarray(end + 4);
      this.upgraded = status === 101;
      this.handshake?.resolve(status);
      if (!this.upgraded) return;
    }
    // Server frames are unmasked.
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (this.closeCode !== undefined) this.framesAfterClose++;
      if (opcode === Opcode.text) this.texts.push(payload.toString());
      else if (opcode === Opcode.pong) this.pongs++;
      else if (opcode === Opcode.close) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    }
  }
}
