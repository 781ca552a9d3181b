import { defineHandler, type Handler, roomOf, type Session } from '../../socket';
import { stateGeneration } from '../../store/generation';
import type { StateStore } from '../../store/store';
import { AwarenessRooms, awarenessUser, decodeAwareness, encodeAwareness, type AwarenessUser } from './awareness';
import { codeToBase } from './base-bridge';
import { assignColor, PALETTE, preferredColor } from './colors';
import { answerSync, checkStateVector, checkUpdate, docKey, fromBase64, mergeUpdate, toBase64, type StoredDoc } from './document';
import { DEFAULT_LANGUAGE, type EditorLimits, type Language } from './limits';
import { editor } from './protocol';

/** Store keys of a room: its document (document.ts) and its language. */
export { docKey };
const languageKey = (room: string) => `editor:${room}:language`;

export interface EditorHandlerOptions {
  store: StateStore;
  limits: EditorLimits;
}

/**
 * The editor's commands. Each connection edits one room, the one its route chose (`?room=`): its
 * route channel `editor:<room>` (namespaced, so room "lobby" here is not the chat's "lobby"), to
 * which the room route's rule keeps its frames. Documents and languages live in the store,
 * cursors (awareness) are only relayed.
 */
export function editorHandler({ store, limits }: EditorHandlerOptions): Handler {
  const presence = new AwarenessRooms();
  /** Each connection's user as its sync set it (with the room's colour for them), until it closes. */
  const users = new Map<string, AwarenessUser>();
  const userOf = (conn: Session) => users.get(conn.id) ?? awarenessUser(conn.profile, PALETTE[preferredColor(conn.profile.id)]!);

  /** The connection's room: every frame is about it (roomRoute's rule refuses frames naming another). */
  const roomName = (conn: Session): string => roomOf(conn.channel) ?? conn.channel;

  return defineHandler(
    editor,
    {
      sync: async (svc, conn, { sv }) => {
        const room = roomName(conn);
        const clientStateVector = fromBase64(sv);
        checkStateVector(clientStateVector);
        const [generation, stored, language, present] = await Promise.all([
          stateGeneration(store),
          store.get<StoredDoc>(docKey(room)),
          store.get<Language>(languageKey(room)),
          svc.presence(conn.channel),
        ]);
        const color = await assignColor(store, room, conn.profile.id, present.map((p) => p.id));
        const user = awarenessUser(conn.profile, color);
        if (svc.getConnection(conn.id)) users.set(conn.id, user); // not for a connection that closed meanwhile
        const { update, stateVector } = answerSync(stored, clientStateVector);
        return {
          generation,
          update: toBase64(update),
          sv: toBase64(stateVector),
          bytes: stored?.bytes ?? 0,
          language: language ?? DEFAULT_LANGUAGE,
          user,
          limits,
        };
      },

      update: async (svc, conn, { update }) => {
        const channel = conn.channel;
        const room = roomName(conn);
        const bytes = fromBase64(update);
        checkUpdate(bytes, limits.maxUpdateBytes);
        // Merged inside store.update: serialized per key, so concurrent updates never lose one another.
        const stored = await store.update<StoredDoc>(docKey(room), (current) => mergeUpdate(current, bytes, limits.maxDocBytes));
        svc.writeChannel(editor.message(channel, 'update', { update }), conn.id);
        // Base's editor.html clients in the chat room of the same name get the whole text (base-bridge.ts).
        await codeToBase(svc, room, stored, conn.profile);
        return { bytes: stored.bytes };
      },

      awareness: (svc, conn, { update }) => {
        const channel = conn.channel;
        const entries = presence.accept(channel, conn.id, userOf(conn), decodeAwareness(fromBase64(update)));
        if (entries.length > 0) svc.writeChannelVolatile(editor.message(channel, 'awareness', { update: toBase64(encodeAwareness(entries)) }), conn.id);
      },

      language: async (svc, conn, { language }) => {
        const channel = conn.channel;
        const room = roomName(conn);
        await store.set(languageKey(room), language);
        svc.writeChannel(editor.message(channel, 'language', { language, by: conn.profile.name, userId: conn.profile.id }));
        return { language };
      },
    },
    {
      // The cursors of a closing connection disappear for everyone else at once, not after awareness's 30 s timeout.
      onClose(svc, conn) {
        users.delete(conn.id);
        const gone = presence.release(conn.channel, conn.id);
        if (gone.length > 0) svc.writeChannelVolatile(editor.message(conn.channel, 'awareness', { update: toBase64(encodeAwareness(gone)) }), conn.id);
      },
    },
  );
}
