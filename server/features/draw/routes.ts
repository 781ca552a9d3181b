import { roomRoute, type RouteOptions } from '../../socket';
import { pageRoom } from '../room';
import { drawPage } from '../../../views/examples/draw';
import type { Feature } from '../feature';
import { drawLimits, type DrawLimits } from './canvas';
import { drawHandler } from './handler';


export interface DrawFeatureOptions {
  /** Page path; the socket is `<path>/socket`. Default `/examples/draw`. */
  path?: string;
  limits?: Partial<DrawLimits>;
  cursorIntervalMs?: number;
  /** Inbound frames per connection; default the service's (a drawing page sends about 40 a second). */
  rateLimit?: RouteOptions['rateLimit'];
}

/**
 * The whiteboard controller: the page at /examples/draw?room=… and its socket at
 * /examples/draw/socket?room=…&name=…. Each room is the channel `draw:<room>`.
 */
export function createDrawFeature(options: DrawFeatureOptions = {}): Feature {
  const path = options.path ?? '/examples/draw';
  const limits = { ...drawLimits, ...options.limits };
  return ({ router, sockets, store, guests }) => {
    router.get(path, (req, res) => {
      const room = pageRoom(req.query.room, 'lobby');
      const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 32) : '';
      res.type('html').send(drawPage({ room, name, socketPath: `${path}/socket`, width: limits.width, height: limits.height }));
    });
    if (!sockets) return;
    const handler = drawHandler(store, { limits, cursorIntervalMs: options.cursorIntervalMs });
    // One room per connection (`draw:<room>`): no joining or publishing to other channels.
    roomRoute(sockets, `${path}/socket`, {
      namespace: 'draw',
      handler,
      guest: (req, url) => guests.profile(req, url),
      options: { rateLimit: options.rateLimit },
    });
  };
}

export const drawFeature = createDrawFeature();
