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
