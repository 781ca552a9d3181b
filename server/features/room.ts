import { HttpError } from '../socket/http-error';

/**
 * Room names of the examples (`?room=`, `?ch=`): 1-64 letters, digits, _ or -. Never a `:`, so a
 * client-chosen room can never name a channel of another route's namespace. Page bundles import
 * this file: it imports nothing that needs Node.
 */
export const roomPattern = /^[\w-]{1,64}$/;
export const roomRule = 'must be 1-64 letters, digits, _ or -';

/** A page's room from its query: the given one when valid, else the default. */
export function pageRoom(value: unknown, fallback: string): string {
  return typeof value === 'string' && roomPattern.test(value) ? value : fallback;
}

/** A socket's room from its URL: the default when absent, HTTP 400 (before the upgrade) when invalid. */
export function socketRoom(url: URL, fallback: string, param = 'room'): string {
  const room = url.searchParams.get(param) || fallback;
  if (!roomPattern.test(room)) throw new HttpError(400, `${param} ${roomRule}`);
  return room;
}
