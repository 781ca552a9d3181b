import { z } from 'zod';
import { defineProtocol } from '../../socket';
import { base64Length, LANGUAGES, MAX_AWARENESS_BYTES, MAX_DOC_BYTES, MAX_STATE_VECTOR_BYTES } from './limits';

/** Bytes as base64 text, at most `maxBytes` once decoded. The handler checks the exact limit. */
const bytes = (maxBytes: number) => z.base64().max(base64Length(maxBytes), `at most ${maxBytes} bytes (base64)`);

const user = z.object({ id: z.string(), name: z.string(), color: z.string(), colorLight: z.string() });
const language = z.enum(LANGUAGES);

/**
 * The collaborative code editor: a Yjs document synchronised over wsforge frames. Binary Yjs
 * messages travel as base64 in `param` (see docs/examples.md, "Code editor").
 */
export const editor = defineProtocol({
  client: {
    /**
     * "Here is my state vector": answered with the update the client lacks, the server's state
     * vector (the client then sends, as an `update`, whatever the server lacks), the room's
     * language, the client's own user (name, colour) and the limits.
     */
    sync: z.object({ sv: bytes(MAX_STATE_VECTOR_BYTES) }),
    /** A Yjs update (Y.Doc 'update' event, v1 encoding): merged into the room's document and relayed to the others. */
    update: z.object({ update: bytes(MAX_DOC_BYTES) }),
    /** A y-protocols awareness update of this client's cursor: relayed, never stored. */
    awareness: z.object({ update: bytes(MAX_AWARENESS_BYTES) }),
    /** Switches the room's language (highlighting) for everyone. */
    language: z.object({ language }),
  },
  server: {
    /** Another member's Yjs update. */
    update: z.object({ update: z.string() }),
    /** Other members' cursors; `state: null` entries mean they left. */
    awareness: z.object({ update: z.string() }),
    /** The room's language changed (sent to everyone, the sender included): who changed it. */
    language: z.object({ language, by: z.string(), userId: z.string() }),
  },
  replies: {
    sync: z.object({
      /** The store's generation (server/store/generation.ts): another one than before means the server lost its state. */
      generation: z.string(),
      update: z.string(),
      sv: z.string(),
      /** Encoded size of the stored document, bytes (0 for a new room). */
      bytes: z.number(),
      language,
      user,
      limits: z.object({ maxUpdateBytes: z.number(), maxDocBytes: z.number() }),
    }),
    /** Size of the stored document after the merge, in bytes. */
    update: z.object({ bytes: z.number() }),
    language: z.object({ language }),
  },
});
export type EditorProtocol = typeof editor;
