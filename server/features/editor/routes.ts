import { editorPage } from '../../../views/examples/editor';
import { displayName } from '../../guest';
import type { Feature } from '../feature';
import { editorHandler } from './handler';
import { DEFAULT_ROOM, editorLimits } from './limits';
import { roomPattern, roomRoute, roomRule } from '../../socket';

const roomError = `room ${roomRule}`;

/**
 * The collaborative code editor: the page at /examples/editor?room=…&name=… and its socket at
 * /examples/editor/socket?room=…&name=… (the examples index redirects Base's /static/editor.html here).
 */
export const editorFeature: Feature = ({ router, sockets, store, guests, config }) => {
  router.get('/examples/editor', (req, res) => {
    const room = typeof req.query.room === 'string' && req.query.room !== '' ? req.query.room : DEFAULT_ROOM;
    if (!roomPattern.test(room)) {
      res.status(400).type('text').send(`${roomError}\n`);
      return;
    }
    const name = typeof req.query.name === 'string' ? (displayName(req.query.name) ?? '') : '';
    res.type('html').send(editorPage(room, name));
  });

  const handler = editorHandler({ store, limits: editorLimits(config.socket.maxPayload) });
  // Guests welcome; a connection edits its own room (`editor:<room>`) and joins no other channel
  // (no eavesdropping on other documents).
  if (sockets) roomRoute(sockets, '/examples/editor/socket', { namespace: 'editor', handler, defaultRoom: DEFAULT_ROOM, guest: (req, url) => guests.profile(req, url) });
};
