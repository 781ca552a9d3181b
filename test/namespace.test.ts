/**
 * Channels are shared by every route, so a more open route must not reach another route's
 * channels: a route's `namespace` owns `<ns>:…` channels, and clients join channels only
 * through a route's `authorize` hook.
 */
import { expect } from 'chai';
import type { Feature } from '../server/features/feature';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import { z } from 'zod';
import { closeAll, connect, startApp } from './helpers';

const protocol = defineProtocol({ client: { say: z.object({ text: z.string() }) }, server: {} });
const handler = defineHandler(protocol, { say: () => undefined });

/** /ns/team: a namespaced route; /ns/closed: no authorize hook; /ns/open: authorize allows anything. */
const routes: Feature = ({ sockets }) => {
  sockets?.route('/ns/team', () => ({ channel: 'team:general', handler }), { anonymous: true, namespace: 'team', authorize: () => true });
  sockets?.route('/ns/closed', () => ({ channel: 'lobby', handler }), { anonymous: true });
  sockets?.route('/ns/open', () => ({ channel: 'lobby', handler }), { anonymous: true, authorize: () => true });
};

describe('channel namespaces and client joins', () => {
  afterEach(closeAll);

  it("keeps an open route's clients out of other routes' namespaced channels (the examples', the admin's, an app's)", async () => {
    const t = await startApp({ features: [routes] });
    const intruder = await connect(t.url('/ns/open'));
    for (const channel of ['team:general', 'chat:general', 'admin:sockets', 'editor:lobby']) {
      const r = await intruder.request(channel, 'join', {});
      expect(r.cmd, channel).to.equal('error');
      expect(r.param.code, channel).to.equal('forbidden');
    }
    expect(t.app.sockets!.getConnectionsByChannel('team:general')).to.have.length(0);
    // The example page's open rooms are still joinable from the open route.
    expect((await intruder.request('room-1', 'join', {})).param).to.deep.equal({ created: true });
  });

  it("lets a namespaced route's clients join its own channels only", async () => {
    const t = await startApp({ features: [routes] });
    const member = await connect(t.url('/ns/team'));
    expect((await member.request('team:design', 'join', {})).param).to.deep.equal({ created: true });
    const outside = await member.request('lobby', 'join', {});
    expect(outside.param.code).to.equal('forbidden');
    expect(outside.param.message).to.match(/only "team:" channels/);
  });

  it('refuses client joins on a route without an authorize hook; its own channel still works', async () => {
    const t = await startApp({ features: [routes] });
    const c = await connect(t.url('/ns/closed'));
    const r = await c.request('elsewhere', 'join', {});
    expect(r.param.code).to.equal('forbidden');
    expect(r.param.message).to.match(/no authorize hook/);
    expect((await c.request('', 'say', { text: 'hi' })).cmd).to.equal('reply');
    expect(t.app.sockets!.getConnectionsByChannel('lobby')).to.have.length(1);
  });

  it('rejects a namespace that is not a plain name when the route is registered', async () => {
    const t = await startApp();
    expect(() => t.app.sockets!.route('/bad', () => ({ channel: 'x', handler }), { namespace: 'a:b' })).to.throw(/namespace/);
  });
});
