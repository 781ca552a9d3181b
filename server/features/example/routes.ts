import { roomPattern, socketRoom } from '../../socket';
import { pageRoom } from '../room';
import { examplePage } from '../../../views/example';
import type { Feature } from '../feature';
import { exampleHandler } from './handler';


/** Forge's example controller: the page at /example and its socket at /example/socket?ch=… */
export const exampleFeature: Feature = ({ router, sockets }) => {
  router.get('/example', (req, res) => {
    const ch = pageRoom(req.query.ch, 'example');
    res.type('html').send(examplePage(ch));
  });
  sockets?.route('/example/socket', (_req, url) => {
    return { channel: socketRoom(url, 'example', 'ch'), handler: exampleHandler };
  }, {
    anonymous: true,
    // Forge's example is an open room system: any room name, outside every route's namespace.
    authorize: (_conn, channel) => roomPattern.test(channel),
  });
};
