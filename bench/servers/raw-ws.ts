/**
 * The naive broadcast server users would write on raw `ws`: one Set of sockets per channel
 * (from ?ch=), parse each frame, stringify the broadcast once, `send` it to each member.
 * Same frames as the wsforge route: `{channel, cmd: 'publish', param: {payload}}` in,
 * `{channel, cmd: 'msg', param: {payload}}` out.
 */
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { startBenchServer } from './common';

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: false, clientTracking: false });
const channels = new Map<string, Set<WebSocket>>();
let open = 0;

wss.on('connection', (ws, req) => {
  const channel = new URL(req.url ?? '/', 'http://localhost').searchParams.get('ch') || 'bench';
  let members = channels.get(channel);
  if (!members) channels.set(channel, (members = new Set()));
  members.add(ws);
  open++;
  ws.on('message', (data: Buffer) => {
    let frame: { cmd?: unknown; param?: { payload?: unknown } };
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (frame?.cmd !== 'publish' || typeof frame.param?.payload !== 'string') return;
    const out = JSON.stringify({ channel, cmd: 'msg', param: { payload: frame.param.payload } });
    for (const peer of members) if (peer.readyState === WebSocket.OPEN) peer.send(out);
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    open--;
    members.delete(ws);
    if (members.size === 0 && channels.get(channel) === members) channels.delete(channel);
  });
});

await startBenchServer({ name: 'raw-ws', server, connections: () => open });
