/**
 * Awareness (y-protocols): who is in a document and where their cursor and selection are.
 * Relayed, never stored. The server decodes each update to keep it honest: a client may only
 * speak for the awareness client ids it owns, may only send a cursor, and its name and colour
 * are set by the server from its profile (no one can pose as someone else). When a connection
 * closes, the server tells the room that its client ids are gone.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { z } from 'zod';
import { SocketError } from '../../socket';

/** One client id's entry in an awareness update. `state` null means "gone". */
export interface AwarenessEntry {
  clientID: number;
  clock: number;
  state: Record<string, unknown> | null;
}

/** How a user is shown at their cursor and in the presence list; set by the server. */
export interface AwarenessUser {
  id: string;
  name: string;
  color: string;
  colorLight: string;
}

/** Client ids in one awareness update: a page has one (its Y.Doc's), two for a moment after a reset. */
export const MAX_AWARENESS_ENTRIES = 4;

const AwarenessError = {
  /** Not a y-protocols awareness update, or a state that is not a cursor. */
  invalidAwareness: 'invalid_awareness',
} as const;

const id = z.object({ client: z.number().int().nonnegative(), clock: z.number().int().nonnegative() });
const relativePosition = z.object({
  type: id.nullish(),
  tname: z.string().max(64).nullish(),
  item: id.nullish(),
  assoc: z.number().int().optional(),
});
/** What a client may put in its awareness state; anything else is dropped. */
const clientState = z.object({ cursor: z.object({ anchor: relativePosition, head: relativePosition }).nullish() });

function invalid(message: string): never {
  throw new SocketError(AwarenessError.invalidAwareness, message);
}

/** Decodes a y-protocols awareness update (varUint count, then clientID, clock, JSON state each). */
export function decodeAwareness(update: Uint8Array): AwarenessEntry[] {
  const entries: AwarenessEntry[] = [];
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    if (count > MAX_AWARENESS_ENTRIES) invalid(`at most ${MAX_AWARENESS_ENTRIES} client ids in one awareness update`);
    for (let i = 0; i < count; i++) {
      const clientID = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state: unknown = JSON.parse(decoding.readVarString(decoder));
      if (state !== null && (typeof state !== 'object' || Array.isArray(state))) invalid('an awareness state must be an object or null');
      entries.push({ clientID, clock, state: state as Record<string, unknown> | null });
    }
    if (decoding.hasContent(decoder)) invalid('trailing bytes after the awareness update');
  } catch (err) {
    if (err instanceof SocketError) throw err;
    invalid('not an awareness update');
  }
  return entries;
}

export function encodeAwareness(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientID, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientID);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, JSON.stringify(state));
  }
  return encoding.toUint8Array(encoder);
}

/** How a user appears in a room, with the colour the room gave them (colors.ts). */
export function awarenessUser(profile: { id: string; name: string }, color: string): AwarenessUser {
  return { id: profile.id, name: profile.name, color, colorLight: `${color}33` };
}

interface Owner {
  connId: string;
  userId: string;
  clock: number;
}

/**
 * Which connection owns which awareness client id, per room, on this node. In a cluster each
 * node knows the ids of its own connections, which is all it needs to announce their departure.
 */
export class AwarenessRooms {
  private readonly rooms = new Map<string, Map<number, Owner>>();

  /**
   * Checks one connection's update and returns what to relay: the same client ids and clocks,
   * each state reduced to its cursor plus the server's `user`. A client id already owned by
   * another user is refused; one owned by another connection of the same user (a reconnect
   * racing the old connection's close) moves to this connection.
   */
  accept(room: string, connId: string, user: AwarenessUser, entries: readonly AwarenessEntry[]): AwarenessEntry[] {
    let owners = this.rooms.get(room);
    for (const e of entries) {
      const owner = owners?.get(e.clientID);
      if (owner && owner.userId !== user.id) invalid(`awareness client id ${e.clientID} belongs to another user`);
    }
    const out: AwarenessEntry[] = [];
    for (const e of entries) {
      if (e.state === null) {
        owners?.delete(e.clientID);
        out.push(e);
        continue;
      }
      const parsed = clientState.safeParse(e.state);
      if (!parsed.success) invalid('an awareness state may only hold a cursor {anchor, head} of relative positions');
      if (!owners) this.rooms.set(room, (owners = new Map()));
      owners.set(e.clientID, { connId, userId: user.id, clock: e.clock });
      out.push({ clientID: e.clientID, clock: e.clock, state: { cursor: parsed.data.cursor ?? null, user } });
    }
    if (owners?.size === 0) this.rooms.delete(room);
    return out;
  }

  /** Forgets a connection's client ids; returns the entries that tell the others they are gone. */
  release(room: string, connId: string): AwarenessEntry[] {
    const owners = this.rooms.get(room);
    if (!owners) return [];
    const gone: AwarenessEntry[] = [];
    for (const [clientID, owner] of owners) {
      if (owner.connId !== connId) continue;
      owners.delete(clientID);
      // Same clock, null state: y-protocols removes it, and the client's next state (clock + 1) is accepted.
      gone.push({ clientID, clock: owner.clock, state: null });
    }
    if (owners.size === 0) this.rooms.delete(room);
    return gone;
  }

  /** Client ids owned in a room (tests, status). */
  clientIds(room: string): number[] {
    return [...(this.rooms.get(room)?.keys() ?? [])];
  }
}
