import { HttpError } from '../../socket/router';
import { examplePage } from '../../../views/example';
import type { Feature } from '../feature';
import { exampleHandler } from './handler';

const channelPattern = /^[\w-]{1,64}$/;

/** Forge's example controller: the page at /example and its socket at /example/socket?ch=… */
export const exampleFeature: Feature = ({ router, sockets }) => {
  router.get('/example', (req, res) => {
    const ch = typeof req.query.ch === 'string' && channelPattern.test(req.query.ch) ? req.query.ch : 'example';
    res.type('html').send(examplePage(ch));
  });
  sockets?.route('/example/socket', (_req, url) => {
    const channel = url.searchParams.get('ch') || 'example';
    if (!channelPattern.test(channel)) throw new HttpError(400, 'ch must be 1-64 letters, digits, _ or -');
    return { channel, handler: exampleHandler };
  }, {
    anonymous: true,
    // Forge's example is an open room system: any room name, outside every route's namespace.
    authorize: (_conn, channel) => channelPattern.test(channel),
  });
};
