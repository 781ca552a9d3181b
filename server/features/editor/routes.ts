import { editorPage } from '../../../views/examples/editor';
import { displayName } from '../../guest';
import type { Feature } from '../feature';
import { editorChannel, editorHandler } from './handler';
import { DEFAULT_ROOM, editorLimits } from './limits';
import { roomPattern, roomRule, socketRoom } from '../room';

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
  sockets?.route(
    '/examples/editor/socket',
    (req, url, identity) => {
      const room = socketRoom(url, DEFAULT_ROOM);
      return { channel: editorChannel(room), profile: identity?.profile ?? guests.profile(req, url), handler };
    },
    // Guests welcome; a connection edits its own room and joins no other channel (no eavesdropping on other documents).
    { anonymous: true, namespace: 'editor', authorize: (conn, channel) => channel === conn.channel },
  );
};
