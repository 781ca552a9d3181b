import { roomPattern } from '../socket';

/**
 * Room names of the examples (`?room=`, `?ch=`): the core's room rule (server/socket/room.ts:
 * 1-64 letters, digits, _ or -, never a `:`), which `roomRoute` and `socketRoom` apply to sockets.
 * Page bundles import this file: it imports nothing that needs Node.
 */
export { roomPattern };

/** A page's room from its query: the given one when valid, else the default. */
export function pageRoom(value: unknown, fallback: string): string {
  return typeof value === 'string' && roomPattern.test(value) ? value : fallback;
}
