/**
 * attachSockets on an app the test owns: it routes only its own upgrades, leaves other paths to
 * the server's other upgrade listeners, mounts nothing it was not asked to, and mounts the admin
 * (and /metrics) when asked. createApp's EXAMPLES_ENABLED switch is here too.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { WebSocketServer, WebSocket } from 'ws';
import { attachSockets, defineHandler, defineProtocol, z, type Sockets } from '../server';
import { closeAll, connect, refusedUpgrade, startApp } from './helpers';

const chat = defineProtocol({
  client: { say: z.object({ text: z.string().min(1) }) },
  server: { said: z.object({ user: z.string(), text: z.string() }) },
  replies: { say: z.object({ ok: z.boolean() }) },
});

interface Host {
  server: Server;
  sockets: Sockets;
  port: number;
  close(): Promise<void>;
}

const hosts: Host[] = [];

async function host(setup: (app: express.Express, server: Server) => Sockets): Promise<Host> {
  const app = express();
  app.get('/own', (_req, res) => res.send('the app\'s own route'));
  const server = createServer(app);
  const sockets = setup(app, server);
  sockets.route('/chat/socket', (_req, url) => ({
    channel: url.searchParams.get('room') ?? 'lobby',
    handler: defineHandler(chat, {
      say: (svc, session, { text }, { channel }) => {
        svc.writeChannel(chat.message(channel, 'said', { user: session.profile.name, text }));
        return { ok: true };
      },
    }),
  }), { anonymous: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const h = {
    server,
    sockets,
    port,
    close: async () => {
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  hosts.push(h);
  return h;
}

describe('attachSockets', () => {
  afterEach(async () => {
    await closeAll();
    await Promise.all(hosts.splice(0).map((h) => h.close()));
  });

  it('serves its routes on an existing server: request/reply and a channel broadcast', async () => {
    const h = await host((_app, server) => attachSockets(server));
    const a = await connect(`ws://127.0.0.1:${h.port}/chat/socket?room=r1`);
    const b = await connect(`ws://127.0.0.1:${h.port}/chat/socket?room=r1`);
    await b.sync();
    const reply = await a.request('r1', 'say', { text: 'hi' });
    expect(reply.param).to.deep.equal({ ok: true });
    const said = await b.waitFor({ cmd: 'said' });
    expect(said.param.text).to.equal('hi');
    expect(said.param.user).to.match(/^guest-/);
    const invalid = await a.request('r1', 'say', { text: '' });
    expect(invalid.cmd).to.equal('error');
    expect(invalid.param.code).to.equal('invalid_param');
  });

  it('leaves upgrades to other paths to the app\'s other upgrade listeners', async () => {
    let other!: WebSocketServer;
    const h = await host((_app, server) => {
      const sockets = attachSockets(server);
      // Like a GraphQL subscription server or a dev server's hot reload on the same port.
      other = new WebSocketServer({ noServer: true });
      server.on('upgrade', (req, socket, head) => {
        if (new URL(req.url ?? '/', 'http://x').pathname === '/graphql') other.handleUpgrade(req, socket, head, (ws) => ws.send('graphql here'));
      });
      return sockets;
    });
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/graphql`);
    const [data] = await once(ws, 'message');
    expect(String(data)).to.equal('graphql here');
    ws.close();
    other.close();
    // wsforge's own route still works beside it.
    const c = await connect(`ws://127.0.0.1:${h.port}/chat/socket`);
    expect((await c.request('lobby', 'say', { text: 'x' })).param).to.deep.equal({ ok: true });
  });

  it('answers 404 for an unknown path only when no other upgrade listener exists', async () => {
    const h = await host((_app, server) => attachSockets(server));
    const refused = await refusedUpgrade(`ws://127.0.0.1:${h.port}/nowhere`);
    expect(refused.status).to.equal(404);
  });

  it('mounts no example, no admin and no /metrics unless asked', async () => {
    const h = await host((_app, server) => attachSockets(server));
    for (const path of ['/examples', '/example', '/admin/sockets', '/metrics', '/api/sockets/publish']) {
      const res = await fetch(`http://127.0.0.1:${h.port}${path}`);
      expect(res.status, path).to.equal(404);
    }
    expect((await refusedUpgrade(`ws://127.0.0.1:${h.port}/example/socket`)).status).to.equal(404);
    expect(await (await fetch(`http://127.0.0.1:${h.port}/own`)).text()).to.equal('the app\'s own route');
  });

  it('mounts the admin (loopback only without a token) and /metrics when asked, with its own assets', async () => {
    const h = await host((app, server) => attachSockets(server, { admin: { router: app, metrics: true } }));
    const page = await fetch(`http://127.0.0.1:${h.port}/admin/sockets`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('/admin/assets/js/pages/admin-sockets.js').and.include('/admin/assets/css/admin.css');
    expect(html, 'no site navigation to pages the host app does not have').not.to.include('href="/examples"');
    for (const asset of ['/admin/assets/js/pages/admin-sockets.js', '/admin/assets/css/admin.css', '/admin/assets/css/app.css']) {
      expect((await fetch(`http://127.0.0.1:${h.port}${asset}`)).status, asset).to.equal(200);
    }
    expect((await fetch(`http://127.0.0.1:${h.port}/admin/assets/nope.js`)).status).to.equal(404);
    const json = await (await fetch(`http://127.0.0.1:${h.port}/admin/sockets.json`)).json();
    expect(json.node).to.equal(h.sockets.node);
    const metrics = await fetch(`http://127.0.0.1:${h.port}/metrics`);
    expect(metrics.status).to.equal(200);
    expect(await metrics.text()).to.include('wsforge_');
    // Its socket is wsforge's: attached, not refused.
    const admin = await connect(`ws://127.0.0.1:${h.port}/admin/sockets/socket`, { origin: `http://127.0.0.1:${h.port}` });
    expect(admin.isOpen).to.equal(true);
  });

  it('mounts the admin on a bare router too, with a token: refused without it', async () => {
    const h = await host((app, server) => {
      const router = express.Router();
      app.use(router);
      return attachSockets(server, { admin: { router, token: 'a-token-of-16-chars-or-more' } });
    });
    const res = await fetch(`http://127.0.0.1:${h.port}/admin/sockets.json`);
    expect(res.status).to.equal(401);
    const ok = await fetch(`http://127.0.0.1:${h.port}/admin/sockets.json`, { headers: { authorization: 'Bearer a-token-of-16-chars-or-more' } });
    expect(ok.status).to.equal(200);
    expect((await fetch(`http://127.0.0.1:${h.port}/metrics`)).status, 'no /metrics unless asked').to.equal(404);
  });
});

describe('createApp: EXAMPLES_ENABLED', () => {
  afterEach(closeAll);

  it('EXAMPLES_ENABLED=false serves no example page and no example socket route; the admin stays', async () => {
    const t = await startApp({ examplesEnabled: false });
    for (const path of ['/example', '/examples', '/examples/chat', '/examples/draw']) {
      expect((await fetch(t.httpUrl(path))).status, path).to.equal(404);
    }
    for (const path of ['/example/socket', '/examples/chat/socket', '/api/ws', '/ws', '/examples/draw/socket']) {
      expect((await refusedUpgrade(t.url(path))).status, path).to.equal(404);
    }
    expect(t.app.sockets!.routes.paths()).to.deep.equal(['/admin/sockets/socket']);
    expect((await fetch(t.httpUrl('/admin/sockets'))).status).to.equal(200);
  });

  it('mounts the examples by default', async () => {
    const t = await startApp();
    expect((await fetch(t.httpUrl('/example'))).status).to.equal(200);
    expect(t.app.sockets!.routes.paths()).to.include('/example/socket');
  });
});
