/**
 * The server side of the editor's Yjs document, as pure functions over encoded updates: the
 * server never keeps a live Y.Doc. A room's document lives in the store as one merged update
 * (Y.encodeStateAsUpdate form, base64) that every `update` is merged into with Y.mergeUpdates
 * inside store.update, so a shared store (Redis) gives every node one document. `sync` is
 * answered straight from that encoding (Y.diffUpdate, Y.encodeStateVectorFromUpdate).
 *
 * A Y.Doc is made only for a moment, to compact: mergeUpdates keeps the content of deleted text
 * forever, while a Y.Doc (gc on) drops it. Compaction runs when the encoding has doubled since
 * the last one, so its cost is amortized, and once more before a change is refused as too large.
 */
import * as Y from 'yjs';
import { SocketError } from '../../socket';

/** What the store keeps per room (JSON-serializable). */
export interface StoredDoc {
  /** The room's document: every update merged, base64. */
  state: string;
  /** Byte size of the decoded `state`. */
  bytes: number;
  /** Byte size right after the last compaction; the next one runs once `bytes` is twice that. */
  compactedBytes: number;
}

/** The one shared type of an editor document: the Y.Text CodeMirror is bound to. */
export const TEXT_NAME = 'code';

/** Where a room's document is kept in the store. */
export const docKey = (room: string) => `editor:${room}:doc`;

/** Below this size (bytes) the stored encoding is never compacted: it is cheap enough as it is. */
export const COMPACT_MIN_BYTES = 16 * 1024;

/** Error codes of the editor's cmds, besides the service's own (docs/examples.md lists them). */
const EditorError = {
  /** The bytes are not a Yjs update (or state vector), or touch something other than the document's text. */
  invalidUpdate: 'invalid_update',
  /** One update larger than the frame allows (EditorLimits.maxUpdateBytes). */
  updateTooLarge: 'update_too_large',
  /** The merged document would exceed MAX_DOC_BYTES; the update is not applied. */
  docTooLarge: 'doc_too_large',
} as const;

/** An empty document's encoding. */
const EMPTY_UPDATE: Uint8Array = Y.encodeStateAsUpdate(new Y.Doc());

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const fromBase64 = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/** The stored document's bytes (an empty document when the room has none yet). */
export function stateOf(stored: StoredDoc | undefined): Uint8Array {
  return stored ? fromBase64(stored.state) : EMPTY_UPDATE;
}

/**
 * Checks a client's update before it reaches the document: at most `maxBytes`, decodable, and
 * only plain text in the document's Y.Text (no other root types, maps, embeds or nested types).
 */
export function checkUpdate(update: Uint8Array, maxBytes: number): void {
  if (update.byteLength > maxBytes) {
    throw new SocketError(EditorError.updateTooLarge, `update is ${update.byteLength} bytes; at most ${maxBytes} fit in one frame`);
  }
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  try {
    decoded = Y.decodeUpdate(update);
  } catch {
    throw new SocketError(EditorError.invalidUpdate, 'update is not a Yjs update');
  }
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) continue; // GC and Skip ranges carry no content
    if (!(struct.content instanceof Y.ContentString) && !(struct.content instanceof Y.ContentDeleted)) {
      throw new SocketError(EditorError.invalidUpdate, 'update may only insert plain text');
    }
    const parent: unknown = struct.parent;
    if ((parent !== null && parent !== TEXT_NAME) || struct.parentSub !== null) {
      throw new SocketError(EditorError.invalidUpdate, `update may only change the "${TEXT_NAME}" text`);
    }
  }
}

/** Checks that a client's state vector decodes. */
export function checkStateVector(sv: Uint8Array): void {
  try {
    Y.decodeStateVector(sv);
  } catch {
    throw new SocketError(EditorError.invalidUpdate, 'sv is not a Yjs state vector');
  }
}

/** Re-encodes a document through a Y.Doc with garbage collection: deleted text is dropped, the result is equivalent. */
export function compact(state: Uint8Array): Uint8Array {
  const doc = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(doc, state);
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}

/**
 * Merges one (already checked) update into the stored document: the function to give
 * store.update. Pure and synchronous, so a store may retry it. Throws `doc_too_large` (and
 * nothing is stored) when the result, even compacted, exceeds `maxDocBytes`.
 */
export function mergeUpdate(current: StoredDoc | undefined, update: Uint8Array, maxDocBytes: number): StoredDoc {
  let merged: Uint8Array;
  try {
    merged = Y.mergeUpdates([stateOf(current), update]);
  } catch {
    throw new SocketError(EditorError.invalidUpdate, 'update cannot be merged into the document');
  }
  let compactedBytes = current?.compactedBytes ?? 0;
  if (merged.byteLength > Math.max(COMPACT_MIN_BYTES, 2 * compactedBytes) || merged.byteLength > maxDocBytes) {
    merged = compact(merged);
    compactedBytes = merged.byteLength;
  }
  if (merged.byteLength > maxDocBytes) {
    throw new SocketError(
      EditorError.docTooLarge,
      `the document would be ${merged.byteLength} bytes encoded, over the limit of ${maxDocBytes}: change not applied`,
    );
  }
  return { state: toBase64(merged), bytes: merged.byteLength, compactedBytes };
}

/**
 * The answer to a client's state vector: the update it lacks, and the server's own state vector
 * so the client can send back what the server lacks.
 */
export function answerSync(stored: StoredDoc | undefined, clientStateVector: Uint8Array): { update: Uint8Array; stateVector: Uint8Array } {
  const state = stateOf(stored);
  return { update: Y.diffUpdate(state, clientStateVector), stateVector: Y.encodeStateVectorFromUpdate(state) };
}

/** The text of an encoded document (tests, logs). */
export function textOf(state: Uint8Array): string {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    return doc.getText(TEXT_NAME).toString();
  } finally {
    doc.destroy();
  }
}
