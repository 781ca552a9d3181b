import type { IncomingMessage } from 'node:http';
import type { Codec } from './codec';
import { ErrorCode, SocketError } from './errors';
import { HttpError } from './http-error';
import type { Profile } from './profile';
import type { Session } from './session';
import type { ChannelAction, Handler, RouteOptions, Sockets } from './sockets';

/**
 * Room routes: one connection, one room. The room comes from the URL (`?room=`), the connection's
 * route channel is `<namespace>:<room>`, and the route's one rule (`roomAuthorize`) keeps every
 * connection to that channel. Chat, draw, kanban, editor and sheet are room routes.
 */

/** Room names: 1-64 letters, digits, _ or -. Never a `:`, so a room never names another namespace's channel. */
export const roomPattern = /^[\w-]{1,64}$/;
/** What `roomPattern` asks for, in words (for error messages). */
export const roomRule = 'must be 1-64 letters, digits, _ or -';

/**
 * The room a socket URL names: the first non-empty of the query parameters `params`, else
 * `fallback`. An invalid name is refused with HTTP 400, before the upgrade.
 */
export function socketRoom(url: URL, fallback: string, params: string | readonly string[] = 'room'): string {
  const names = typeof params === 'string' ? [params] : params;
  const room = names.map((p) => url.searchParams.get(p)).find((v) => v) || fallback;
  if (!roomPattern.test(room)) throw new HttpError(400, `${names[0] ?? 'room'} ${roomRule}`);
  return room;
}

/**
 * The room of a room channel (`draw:lobby` → `lobby`), or undefined when the channel is not
 * `<namespace>:<room>`.
 */
export function roomOf(channel: string): string | undefined {
  const colon = channel.indexOf(':');
  const room = colon > 0 ? channel.slice(colon + 1) : undefined;
  return room !== undefined && roomPattern.test(room) ? room : undefined;
}

/** The namespace of a `<namespace>:…` channel, if it has one. */
function namespaceOf(channel: string): string | undefined {
  const colon = channel.indexOf(':');
  return colon > 0 ? channel.slice(0, colon) : undefined;
}

/**
 * The rule of every room route (its `authorize` hook): a connection joins and sends to its own
 * room channel only.
 * - A `join` of any other channel is refused (`forbidden`).
 * - A frame naming another room of the same namespace is refused with `wrong_room`: the one code
 *   for "this frame names a room that is not yours". The service answers `not_member` before this
 *   rule runs when the connection is not in that channel, which for a client is always: it cannot
 *   join another room. `wrong_room` is for a connection the server itself put in another room.
 * - A frame naming any other channel it is in (e.g. chat's `chat` directory) is `forbidden`.
 * Handlers of room routes can therefore take the room from `session.channel` and need no check.
 */
export function roomAuthorize(session: Session, channel: string, action: ChannelAction): boolean {
  if (channel === session.channel) return true;
  if (action === 'publish' && roomOf(channel) !== undefined && namespaceOf(channel) === namespaceOf(session.channel)) {
    throw new SocketError(ErrorCode.wrongRoom, `this connection's room is "${roomOf(session.channel) ?? session.channel}", not "${roomOf(channel)}"`);
  }
  return false;
}

/** What `roomRoute` needs. */
export interface RoomRouteSpec {
  /** Room channels are `<namespace>:<room>`; the route owns the namespace (its `namespace` option). */
  namespace: string;
  /** The handler, or the handler for the URL (one route speaking to several kinds of client). */
  handler: Handler | ((url: URL) => Handler);
  /** The room when the URL names none. Default `lobby`. */
  defaultRoom?: string;
  /** Query parameters that may name the room, the first non-empty one wins. Default `room`. */
  query?: string | readonly string[];
  /**
   * The profile of a connection without a verified identity (a token). Giving it makes the route
   * anonymous: guests are welcome. Returning undefined leaves it to the service (a guest keyed by
   * the connection id).
   */
  guest?: (req: IncomingMessage, url: URL) => Profile | undefined;
  /**
   * Runs with the valid room before the upgrade, e.g. to create it or to cap the number of rooms:
   * throw HttpError to refuse the connection with that status.
   */
  open?: (room: string, url: URL) => void | Promise<void>;
  /** Another JSON dialect at the edge (see codec.ts), or the one for the URL. */
  codec?: Codec | ((url: URL) => Codec | undefined);
  /**
   * The route's other options (rate limit, presence updates, authenticator…). `anonymous`
   * defaults to whether `guest` is given; `namespace` and `authorize` are the room route's own.
   */
  options?: Omit<RouteOptions, 'namespace' | 'authorize'>;
}

/**
 * Registers a room route at `path`: the room from the URL (HTTP 400 when invalid), the channel
 * `<namespace>:<room>`, the profile of the verified identity else `guest(req, url)`, and
 * `roomAuthorize` as the one rule.
 *
 * ```ts
 * roomRoute(sockets, '/examples/draw/socket', { namespace: 'draw', handler, guest: (req, url) => guests.profile(req, url) });
 * ```
 */
export function roomRoute(sockets: Pick<Sockets, 'route'>, path: string, spec: RoomRouteSpec): void {
  const { namespace, handler, codec, guest, open } = spec;
  const fallback = spec.defaultRoom ?? 'lobby';
  const query = spec.query ?? 'room';
  const options: RouteOptions = { ...spec.options, anonymous: spec.options?.anonymous ?? guest !== undefined, namespace, authorize: roomAuthorize };
  sockets.route(
    path,
    async (req, url, identity) => {
      const room = socketRoom(url, fallback, query);
      await open?.(room, url);
      return {
        channel: `${namespace}:${room}`,
        profile: identity?.profile ?? guest?.(req, url),
        handler: typeof handler === 'function' ? handler(url) : handler,
        codec: typeof codec === 'function' ? codec(url) : codec,
      };
    },
    options,
  );
}
