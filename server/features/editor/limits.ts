/**
 * Constants shared by the editor's server code and its page script. No imports: the browser
 * bundle pulls this file in, and must not pull in zod, yjs-on-the-server or the service.
 */

/** Languages the editor highlights; the choice is shared by everyone in a room. */
export const LANGUAGES = ['javascript', 'typescript', 'python', 'html', 'css', 'plain'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'javascript';

export const DEFAULT_ROOM = 'lobby';

/**
 * Largest encoded document (Y.encodeStateAsUpdate, bytes) the server keeps for a room. A late
 * joiner gets the whole document in one frame (base64: 4/3 of this), which must stay well under
 * WS_MAX_BUFFERED (1 MiB by default), or the joiner would be cut off as a slow consumer.
 */
export const MAX_DOC_BYTES = 256 * 1024;

/** Largest awareness update (cursor + selection of one editor), in bytes. */
export const MAX_AWARENESS_BYTES = 4 * 1024;

/** Largest state vector a client may send with `sync`, in bytes (a few bytes per client that ever edited). */
export const MAX_STATE_VECTOR_BYTES = 16 * 1024;

/** Bytes left for the JSON around the base64 payload of an `update` frame (channel, cmd, ref). */
const FRAME_OVERHEAD = 1024;

/** Limits the page script needs, sent to it in the `sync` reply. */
export interface EditorLimits {
  /** Largest Yjs update accepted in one `update` frame, in bytes (before base64). */
  maxUpdateBytes: number;
  /** Largest encoded document, in bytes. */
  maxDocBytes: number;
}

/**
 * The largest update that fits one inbound frame of `maxPayload` bytes once base64-encoded
 * (4 bytes per 3) with the frame's JSON around it, and never more than a whole document.
 * With the default WS_MAX_PAYLOAD of 64 KiB that is 48 384 bytes.
 */
export function editorLimits(maxPayload: number): EditorLimits {
  const fits = Math.floor(((maxPayload - FRAME_OVERHEAD) * 3) / 4);
  return { maxUpdateBytes: Math.max(1024, Math.min(MAX_DOC_BYTES, fits)), maxDocBytes: MAX_DOC_BYTES };
}

/** base64 length of `bytes` bytes. */
export const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;
