import { defineHandler, type Sockets } from '../server/socket';
import { checkAdminFrame, kickConnection, kickUser, publishCounted, publishToChannel, sendToConnection } from './actions';
import type { LiveStatus } from './live';
import { adminProtocol } from './protocol';
import type { TapFeed } from './tap-feed';

/**
 * The admin socket: each connection watches one view at a time (live status or tap), and acts
 * by request/reply. Requests on a socket that passed the access and Origin checks at upgrade
 * cannot be forged cross-site, so these actions need no CSRF token.
 */
export function adminHandler(live: LiveStatus, tap: TapFeed, reserved: ReadonlyMap<string, string>) {
  const stop = (_svc: Sockets, conn: { id: string }) => {
    live.unwatch(conn.id);
    tap.unwatch(conn.id);
  };
  return defineHandler(
    adminProtocol,
    {
      watch: (svc, conn, view) => {
        stop(svc, conn);
        if (view.view === 'tap') tap.watch(conn.id, view.filter);
        else live.watch(conn.id, view);
      },
      unwatch: stop,
      send: async (svc, _conn, { connId, count, ...frame }) => {
        checkAdminFrame(frame, reserved);
        const { sent, ...delivery } = await sendToConnection(svc, connId, frame);
        return count ? { sent, ...delivery } : { sent };
      },
      publish: (svc, _conn, { count, ...frame }) => {
        checkAdminFrame(frame, reserved);
        return count ? publishCounted(svc, frame) : publishToChannel(svc, frame);
      },
      kick: (svc, _conn, { connId, reason }) => kickConnection(svc, connId, reason),
      'kick-user': (svc, _conn, { userId, reason }) => kickUser(svc, userId, reason),
    },
    { onClose: stop },
  );
}
