import * as Y from 'yjs';
import type { Profile, Sockets } from '../../socket';
import type { StateStore } from '../../store/store';
import { roomChannel } from '../chat/chat';
import { chat } from '../chat/protocol';
import { docKey, mergeUpdate, stateOf, TEXT_NAME, textOf, toBase64, type StoredDoc } from './document';
import { editor } from './protocol';
import { fnv1a } from './fnv1a';

/**
 * The bridge between Base Framework's editor.html (a Base client in the chat room `chat:<room>`,
 * through the Base codec) and the code editor (`editor:<room>`): one room name, one document.
 *
 * editor.html sends and applies the whole text (`code_update`, content a string, on every
 * change). The editor keeps a Yjs document. A Base text becomes the smallest single edit of the
 * document's current text (common prefix and suffix kept), made as a Yjs update by the Base
 * connection's own Yjs client, merged into the stored document like any page's update and sent
 * to the editor's pages. Every change of the document reaches the room's Base clients as the
 * whole text. A Base page is last-writer-wins by design: a text it sends while a newer one is on
 * its way to it undoes that newer change inside the span it edited; the editor's pages merge
 * character by character.
 */

/** The edit that turns `before` into `after`: one span replaced (undefined when they are equal). Never splits a surrogate pair. */
function textEdit(before: string, after: string): { at: number; remove: number; insert: string } | undefined {
  if (before === after) return undefined;
  const max = Math.min(before.length, after.length);
  let p = 0;
  while (p < max && before.charCodeAt(p) === after.charCodeAt(p)) p++;
  if (p > 0 && isHighSurrogate(before.charCodeAt(p - 1))) p--;
  let s = 0;
  while (s < max - p && before.charCodeAt(before.length - 1 - s) === after.charCodeAt(after.length - 1 - s)) s++;
  if (s > 0 && isLowSurrogate(before.charCodeAt(before.length - s))) s--;
  return { at: p, remove: before.length - p - s, insert: after.slice(p, after.length - s) };
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** A connection's Yjs client id (uint32, never 0): FNV-1a of its id, the same on every call. */
function yjsClientId(connId: string): number {
  return fnv1a(connId) || 1;
}

/**
 * Sets the document's text to `text` as client `clientId`: the store.update function (pure and
 * synchronous). Returns the new stored document and the Yjs update (none when nothing changed).
 */
function applyText(current: StoredDoc | undefined, text: string, clientId: number, maxDocBytes: number): { stored: StoredDoc; update?: Uint8Array } {
  const doc = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(doc, stateOf(current));
    const ytext = doc.getText(TEXT_NAME);
    const edit = textEdit(ytext.toString(), text);
    if (!edit) return { stored: current ?? mergeUpdate(undefined, Y.encodeStateAsUpdate(doc), maxDocBytes) };
    const before = Y.encodeStateVector(doc);
    // Set after loading the stored state (Yjs renames a client whose id arrives in a remote update).
    doc.clientID = clientId;
    doc.transact(() => {
      if (edit.remove > 0) ytext.delete(edit.at, edit.remove);
      if (edit.insert) ytext.insert(edit.at, edit.insert);
    });
    const update = Y.encodeStateAsUpdate(doc, before);
    return { stored: mergeUpdate(current, update, maxDocBytes), update };
  } finally {
    doc.destroy();
  }
}

/** The room's text, or undefined when the room has no document yet. */
export async function roomCode(store: StateStore, room: string): Promise<string | undefined> {
  const stored = await store.get<StoredDoc>(docKey(room));
  return stored ? textOf(stateOf(stored)) : undefined;
}

/** A Base `code_update` (the whole text) from connection `connId`: merged into the room's document and sent to the editor's pages. */
export async function codeFromBase(svc: Sockets, store: StateStore, maxDocBytes: number, room: string, connId: string, text: string): Promise<void> {
  const clientId = yjsClientId(connId);
  let update: Uint8Array | undefined;
  await store.update<StoredDoc>(docKey(room), (current) => {
    const r = applyText(current, text, clientId, maxDocBytes);
    update = r.update;
    return r.stored;
  });
  if (update) svc.writeChannel(editor.message(`editor:${room}`, 'update', { update: toBase64(update) }));
}

/**
 * The document after a page's update, as Base's `code_update` (the whole text) to the Base clients
 * of the chat room `room`, if it has anyone: the whole text per update is worth a presence read
 * first. Volatile: Base pages never resume, and the chat room's history keeps no copies of it.
 */
export async function codeToBase(svc: Sockets, room: string, stored: StoredDoc, by: Profile): Promise<void> {
  const channel = roomChannel(room);
  if ((await svc.presence(channel)).length === 0) return;
  svc.writeChannelVolatile(chat.message(channel, 'base', { type: 'code_update', content: textOf(stateOf(stored)), name: by.name, userId: by.id }));
}
