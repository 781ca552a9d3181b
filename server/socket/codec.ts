import { textFrame } from './frame';
import type { Message } from './message';

/**
 * Translates frames at the edge for clients that speak another JSON dialect (e.g. Base
 * Framework's `{type, content, room, nickname}`). The service and handlers only ever see
 * `{channel, cmd, param}`; a route with a codec joins the same channels as any other route.
 */
export interface Codec {
  /** Inbound text → a frame. Throw FrameError for what cannot be translated. */
  decode(text: string, defaultChannel: string): Message;
  /** An outbound frame → the text this client understands, or undefined to not send it. */
  encode(msg: Message): string | undefined;
}

/** One frame translated for codec clients: once per codec per delivery, however many recipients share it. */
export class Translations {
  /** Per codec, the translated frame built once (frame.ts), or undefined: not for that dialect. */
  private readonly byCodec = new Map<Codec, { frame: Buffer; bytes: number } | undefined>();

  constructor(
    private readonly data: string,
    private msg?: Message,
  ) {}

  send(to: { sendFrame(frame: Buffer, bytes: number): void }, codec: Codec): void {
    let out = this.byCodec.get(codec);
    if (!this.byCodec.has(codec)) {
      const text = codec.encode((this.msg ??= JSON.parse(this.data) as Message));
      const bytes = text === undefined ? 0 : Buffer.byteLength(text);
      out = text === undefined ? undefined : { frame: textFrame(text, bytes), bytes };
      this.byCodec.set(codec, out);
    }
    if (out) to.sendFrame(out.frame, out.bytes);
  }
}
