/**
 * Socket.IO 4, websocket transport only, default options otherwise. Clients connect with
 * ?ch=<room> in the handshake query and are put in that room; `publish <payload>` is broadcast
 * with `io.to(room).emit('msg', {payload})` (the sender is in the room and gets it too, like
 * the other two servers).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { startBenchServer } from './common';

const server = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(server, { transports: ['websocket'], serveClient: false });
let open = 0;

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.ch || 'bench');
  void socket.join(room);
  open++;
  socket.on('publish', (payload: unknown) => {
    if (typeof payload === 'string') io.to(room).emit('msg', { payload });
  });
  socket.on('disconnect', () => {
    open--;
  });
});

await startBenchServer({ name: 'socketio', server, connections: () => open });
