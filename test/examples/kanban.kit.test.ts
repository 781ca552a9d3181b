/**
 * The kanban feature's socket route and handler through the test kit (wsforge/testing): the
 * feature registers its real room route on the kit, sessions connect through it by URL. No
 * server; kanban.test.ts runs the same feature behind a real one.
 */
import { expect } from 'chai';
import { Router } from 'express';
import type { Config } from '../../server/config';
import { createKanbanFeature } from '../../server/features/kanban/routes';
import type { KanbanProtocol } from '../../server/features/kanban/protocol';
import { GuestIdentity } from '../../server/guest';
import { HttpError } from '../../server/socket';
import { MemoryStore } from '../../server/store/memory-store';
import { HandlerTest, PushError } from '../../server/testing';

const ann = { id: 'u-ann', name: 'Ann' };
const bob = { id: 'u-bob', name: 'Bob' };

async function refused(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(PushError);
    const { code, message } = err as PushError;
    return { code, message };
  }
  throw new Error('the push was answered with a reply');
}

describe('kanban feature (test kit)', () => {
  let kit: HandlerTest<KanbanProtocol>;
  const board = (room: string, profile?: { id: string; name: string }) => kit.connect({ url: `/t/kanban/socket?room=${room}`, profile });

  beforeEach(() => {
    kit = new HandlerTest<KanbanProtocol>();
    const guests = new GuestIdentity('kit-secret');
    // The feature as the app mounts it; it reads no config.
    createKanbanFeature({ path: '/t/kanban', limits: { maxCards: 2 } })({ router: Router(), sockets: kit, store: new MemoryStore(), guests, config: {} as Config });
  });

  it('is a room route: the room from ?room= (400 when invalid) on channel kanban:<room>, guests allowed', async () => {
    const a = await board('team-7', ann);
    expect(a.channel).to.equal('kanban:team-7');
    expect(a.route).to.equal('/t/kanban/socket');
    expect((await kit.connect({ url: '/t/kanban/socket' })).channel).to.equal('kanban:lobby');
    const guest = await kit.connect({ url: '/t/kanban/socket?room=x&name=Zed' });
    expect(guest.profile.id).to.equal(guest.id); // no guest cookie: a guest keyed by the connection
    const bad = await kit.connect({ url: '/t/kanban/socket?room=a/b' }).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(HttpError).and.include({ status: 400 });
  });

  it('applies a change, replies with the version and broadcasts the op by the server-known name to the whole room', async () => {
    const a = await board('k1', ann);
    const b = await board('k1', bob);
    const elsewhere = await board('k2', { id: 'u-cy', name: 'Cy' });
    const sync = await b.push('sync', {});
    expect(sync.me).to.deep.equal(bob);
    expect(sync.users).to.deep.equal([ann, bob]);
    expect(sync.board.version).to.equal(0);

    const added = await a.push('add', { column: 'todo', text: '  write tests  ' });
    expect(added).to.deep.equal({ version: 1, card: 'c1' });
    const op = kit.sent.at(-1)!;
    expect(op.target).to.deep.equal({ type: 'channel', channel: 'kanban:k1' });
    expect(op.to).to.have.members([a.id, b.id]);
    for (const s of [a, b]) {
      const [f] = s.frames('op');
      expect(f?.param).to.deep.include({ version: 1, by: 'Ann' });
      expect(f?.param.op).to.deep.include({ type: 'add', column: 'todo', index: 0 });
    }
    expect(elsewhere.frames('op')).to.deep.equal([]);
    expect((await elsewhere.push('sync', {})).board.cards).to.deep.equal({});
  });

  it('validates params before the board sees them and answers board errors with their codes', async () => {
    const a = await board('k3', ann);
    expect((await refused(a.push('move', { card: '1; drop', column: 'done' }))).code).to.equal('invalid_param');
    expect((await refused(a.push('edit', { card: 'c1', text: 'x', version: 0 }))).code).to.equal('invalid_param');
    expect((await refused(a.push('add', { column: 'todo', text: ' \u0001 ' }))).code).to.equal('invalid_param');
    expect((await refused(a.push('add', { column: 'someday', text: 'x' }))).code).to.equal('not_found');
    await a.push('add', { column: 'todo', text: 'a' });
    await a.push('add', { column: 'todo', text: 'b' });
    expect(await refused(a.push('add', { column: 'todo', text: 'c' }))).to.deep.equal({ code: 'limit_exceeded', message: 'a board has at most 2 cards: delete some first' });
    const b = await board('k3', bob);
    await b.push('edit', { card: 'c1', text: 'by bob', version: 1 });
    expect((await refused(a.push('edit', { card: 'c1', text: 'stale', version: 1 }))).code).to.equal('conflict');
    expect(a.frames('op').map((f) => f.param.version)).to.deep.equal([1, 2, 3]);
  });

  it('keeps a connection to its board: other boards are forbidden to join, not_member or wrong_room to name', async () => {
    const a = await board('k5', ann);
    expect((await refused(a.join('kanban:k6'))).code).to.equal('forbidden');
    expect((await refused(a.join('chat:general'))).code).to.equal('forbidden');
    expect((await refused(a.push('add', { column: 'todo', text: 'x' }, { channel: 'kanban:k6' }))).code).to.equal('not_member');
    await kit.join(a.id, 'kanban:k6');
    expect(await refused(a.push('add', { column: 'todo', text: 'x' }, { channel: 'kanban:k6' }))).to.deep.equal({
      code: 'wrong_room',
      message: 'this connection\'s room is "k5", not "k6"',
    });
    expect(kit.sent.filter((s) => s.msg.cmd === 'op')).to.deep.equal([]);
    expect(await a.presence()).to.deep.equal({ users: [ann] });
  });

  it('announces arrivals and departures with presence-diff, and closes kicked sessions', async () => {
    const a = await board('k7', ann);
    await kit.idle(); // the kit announces when idle (the server: at once, then at most every WS_PRESENCE_INTERVAL_MS)
    const b = await board('k7', bob);
    await kit.idle();
    const arrival = { joins: [{ userId: 'u-bob', name: 'Bob' }], leaves: [], count: 2 };
    expect(a.frames('presence-diff').map((f) => f.param)).to.deep.equal([{ joins: [{ userId: 'u-ann', name: 'Ann' }], leaves: [], count: 1 }, arrival]);
    expect(b.frames('presence-diff').map((f) => f.param), 'the joiner is told too').to.deep.equal([arrival]);
    kit.disconnect(b.id);
    expect(await b.closed).to.deep.equal({ code: 4000, reason: 'disconnected by server' });
    expect(b.frames('close-connection').map((f) => f.param)).to.deep.equal([{ reason: 'disconnected by server' }]);
    await kit.idle();
    expect(a.frames('presence-diff').at(-1)?.param).to.deep.equal({ joins: [], leaves: [{ userId: 'u-bob', name: 'Bob' }], count: 1 });
    expect(kit.getConnectionsByChannel('kanban:k7').map((s) => s.id)).to.deep.equal([a.id]);
    expect(kit.counts()).to.include({ connections: 1, channels: 1 });
  });
});
