import { roomRoute, type RouteOptions } from '../../socket';
import { pageRoom } from '../room';
import { kanbanPage } from '../../../views/examples/kanban';
import type { Feature } from '../feature';
import { kanbanLimits } from './board';
import { kanbanHandler } from './handler';


export interface KanbanFeatureOptions {
  /** Page path; the socket is `<path>/socket`. Default `/examples/kanban`. */
  path?: string;
  limits?: Partial<typeof kanbanLimits>;
  rateLimit?: RouteOptions['rateLimit'];
}

/**
 * The kanban controller: the page at /examples/kanban?room=… and its socket at
 * /examples/kanban/socket?room=…&name=…. Each room is the channel `kanban:<room>` with one board.
 */
export function createKanbanFeature(options: KanbanFeatureOptions = {}): Feature {
  const path = options.path ?? '/examples/kanban';
  const limits = { ...kanbanLimits, ...options.limits };
  return ({ router, sockets, store, guests }) => {
    router.get(path, (req, res) => {
      const room = pageRoom(req.query.room, 'lobby');
      const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 32) : '';
      res.type('html').send(kanbanPage({ room, name, socketPath: `${path}/socket`, maxTextLength: limits.maxTextLength }));
    });
    if (!sockets) return;
    const handler = kanbanHandler(store, { limits });
    // One board per connection (`kanban:<room>`): no joining or publishing to other channels.
    roomRoute(sockets, `${path}/socket`, {
      namespace: 'kanban',
      handler,
      guest: (req, url) => guests.profile(req, url),
      options: { rateLimit: options.rateLimit },
    });
  };
}

export const kanbanFeature = createKanbanFeature();
