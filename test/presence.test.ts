/**
 * Presence when a connection leaves while its join still waits for the bus (in a cluster, the
 * Redis round trip of a new channel's subscription): the leave must not be undone by the join
 * finishing afterwards. A SocketService of its own, on a real server with real ws clients; its bus
 * is the in-process LocalBus with channel subscriptions held until the test lets them go, which
 * opens the same window a slow Redis does.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { z } from 'zod';
import { LocalBus, type Topic } from '../server/socket/bus';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import { SocketService } from '../server/socket/service';
import { closeAll, connect, eventually, sleep } from './helpers';

/** LocalBus whose subscriptions of one kind of topic resolve only when `release` is called. */
class HeldBus extends LocalBus {
  release!: () => void;
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  hold: Topic['type'] = 'channel';
  waiting = 0;

  override async subscribe(topic: Topic): Promise<void> {
    if (topic.type !== this.hold) return;
    this.waiting++;
    await this.held;
  }
}

const hooks = { opened: 0, closed: 0 };
const handler = defineHandler(
  defineProtocol({ client: { ping: z.object({}) }, server: {} }),
  { ping: () => 'pong' },
  {
    onOpen: () => void hooks.opened++,
    onClose: () => void hooks.closed++,
  },
);

describe('a connection that closes while its join waits for the bus', () => {
  let server: Server;
  let svc: SocketService;
  let bus: HeldBus;

  beforeEach(async () => {
    hooks.opened = hooks.closed = 0;
    bus = new HeldBus();
    svc = new SocketService({ bus });
    svc.route('/p', (_req, url) => ({ channel: url.searchParams.get('ch')!, profile: { id: url.searchParams.get('user')!, name: 'Uma' }, handler }), { anonymous: true });
    server = createServer();
    server.on('upgrade', svc.handleUpgrade);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(async () => {
    await closeAll();
    bus.release();
    await svc.close();
    server.close();
  });

  const url = (query: string) => `ws://127.0.0.1:${(server.address() as AddressInfo).port}/p?${query}`;

  it('leaves no ghost in presence, and gets neither onOpen nor onClose', async () => {
    const c = await connect(url('ch=held&user=uma'));
    await eventually(() => expect(bus.waiting).to.equal(1));
    const conn = svc.getConnections()[0]!;
    const loop = svc.readLoop(conn.id);
    await c.close();
    await loop;
    expect(svc.counts()).to.include({ connections: 0, channels: 0 });
    bus.release();
    await sleep(50); // the held join goes on now: it must find the connection gone
    expect(await svc.presence('held')).to.deep.equal([]);
    expect(hooks).to.deep.equal({ opened: 0, closed: 0 });

    // A later member sees nobody else there, and gets its hooks.
    const later = await connect(url('ch=held&user=vic'));
    expect((await later.request('held', 'presence')).param.users).to.deep.equal([{ id: 'vic', name: 'Uma' }]);
    await later.close();
    await eventually(() => expect(hooks).to.deep.equal({ opened: 1, closed: 1 }));
  });

  it('is not put in its channel by a resume that goes on after it closed', async () => {
    bus.hold = 'conn';
    const c = await connect(url('ch=resumed&user=uma&wsf_since=someepoch:3:resumed'));
    await eventually(() => expect(bus.waiting).to.equal(1));
    const loop = svc.readLoop(svc.getConnections()[0]!.id);
    await c.close();
    await loop;
    bus.release();
    await sleep(50); // the held admission goes on now
    expect(svc.counts()).to.include({ connections: 0, channels: 0 });
    expect(svc.getConnectionsByChannel('resumed')).to.deep.equal([]);
    expect(await svc.presence('resumed')).to.deep.equal([]);
    expect(hooks).to.deep.equal({ opened: 0, closed: 0 });
  });
});
