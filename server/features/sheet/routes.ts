import { roomRoute } from '../../socket';
import { pageRoom } from '../room';
import { sheetPage } from '../../../views/examples/sheet';
import type { Feature } from '../feature';
import { createSheetHandler } from './handler';


/**
 * Collaborative spreadsheet: the page at /examples/spreadsheet?room=… and its socket at
 * /examples/spreadsheet/socket?room=…; each room is one sheet, on channel `sheet:<room>`.
 */
export const sheetFeature: Feature = ({ router, sockets, store, guests }) => {
  router.get('/examples/spreadsheet', (req, res) => {
    const room = pageRoom(req.query.room, 'lobby');
    const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 32) : '';
    res.type('html').send(sheetPage({ room, name, wsEnabled: sockets !== undefined }));
  });
  if (!sockets) return;
  const handler = createSheetHandler(store);
  // One sheet per connection (`sheet:<room>`): no joining or publishing to other channels.
  roomRoute(sockets, '/examples/spreadsheet/socket', { namespace: 'sheet', handler, guest: (req, url) => guests.profile(req, url) });
};
