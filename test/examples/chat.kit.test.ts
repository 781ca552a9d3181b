/**
 * The chat handler through the test kit (wsforge/testing): no server, no sockets. The
 * integration tests in chat.test.ts run the same handler behind a real server.
 */
import { expect } from 'chai';
import { DIRECTORY, MESSAGE_BURST, roomChannel } from '../../server/features/chat/chat';
import { ChatState } from '../../server/features/chat/chat-state';
import { createChatHandler } from '../../server/features/chat/handler';
import type { ChatProtocol } from '../../server/features/chat/protocol';
import { roomAuthorize } from '../../server/socket';
import { MemoryStore } from '../../server/store/memory-store';
import { HandlerTest, PushError, type TestSession } from '../../server/testing';
import { eventually } from '../helpers';

const general = roomChannel('general');
const alice = { id: 'u1', name: 'Alice' };
const bob = { id: 'u2', name: 'Bob' };

/** The code a push is refused with (fails when it is answered with a reply). */
async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(PushError);
    return (err as PushError).code;
  }
  throw new Error('the push was answered with a reply');
}

describe('chat handler (test kit)', () => {
  let kit: HandlerTest<ChatProtocol>;
  const open = (profile: { id: string; name: string }, channel = general) => kit.connect({ profile, channel });

  beforeEach(() => {
    // The chat route's rule: a room route (roomRoute) in the `chat` namespace.
    kit = new HandlerTest<ChatProtocol>(createChatHandler(new ChatState(new MemoryStore())), { namespace: 'chat', authorize: roomAuthorize, path: '/examples/chat/socket' });
  });

  it('opens with the state frame and the room and directory channels; others hear of the arrival', async () => {
    const a = await open(alice);
    expect(a.channels).to.deep.equal([general, DIRECTORY]);
    const [state] = a.frames('state');
    expect(state?.channel).to.equal(general);
    expect(state?.param).to.deep.include({ room: 'general', you: alice, history: [], users: [alice] });
    const b = await open(bob);
    // Coalesced with any other arrival of the same LIST_INTERVAL_MS (notices.ts).
    await eventually(() => expect(a.frames('system').map((f) => f.param.text)).to.deep.equal(['Bob joined the room']));
    // Lists go out at most every LIST_INTERVAL_MS, with what they are then.
    await eventually(() => expect(a.frames('users').at(-1)?.param.users).to.deep.equal([alice, bob]));
    expect(b.frames('system')).to.deep.equal([]); // the joiner is told by its state frame instead
    expect(kit.getUsersByChannel(general)).to.deep.equal([alice, bob]);
  });

  it('sends a message to the room under the name the server knows, never one the client gives', async () => {
    const a = await open(alice);
    const b = await open(bob);
    const reply = await a.push('say', { text: '  hello  ', name: 'Mallory', userId: 'u2', clientMsgId: 'page-1' } as never);
    const written = kit.sent.at(-1)!;
    expect(written.target).to.deep.equal({ type: 'channel', channel: general });
    expect(written.msg.cmd).to.equal('message');
    // The reply names the message; the sender page's clientMsgId travels with it (and into history).
    expect(written.msg.param).to.deep.include({ id: reply?.id, userId: 'u1', name: 'Alice', text: 'hello', clientMsgId: 'page-1' });
    expect(await refused(a.push('say', { text: 'x', clientMsgId: 'no spaces' }))).to.equal('invalid_param');
    expect(written.to).to.have.members([a.id, b.id]);
    expect(b.frames('message').map((f) => [f.param.name, f.param.text])).to.deep.equal([['Alice', 'hello']]);
    // The next joiner gets it in the room's history.
    const c = await open({ id: 'u3', name: 'Carol' });
    expect(c.frames('state')[0]?.param.history.map((m) => m.text)).to.deep.equal(['hello']);
  });

  it('refuses invalid params with invalid_param and unknown cmds with unknown_cmd, sending nothing', async () => {
    const a = await open(alice);
    const before = kit.sent.length;
    expect(await refused(a.push('say', { text: '   ' }))).to.equal('invalid_param');
    expect(await refused(a.push('say', { text: 'x'.repeat(2001) }))).to.equal('invalid_param');
    expect(await refused(a.push('say', {} as never))).to.equal('invalid_param');
    expect(await refused(a.push('nick', { name: 'System' }))).to.equal('invalid_param');
    expect(await refused(a.push('create-room', { room: 'no spaces' }))).to.equal('invalid_param');
    expect(await refused(a.push('shout' as never, { text: 'hi' } as never))).to.equal('unknown_cmd');
    const answer = await a.request('say', { text: '' }, { ref: 7 });
    expect(answer).to.deep.include({ channel: general, cmd: 'error', ref: 7 });
    expect(kit.sent.length).to.equal(before);
    expect(a.errors).to.equal(7);
  });

  it('keeps frames to the own room: another room is not_member, or wrong_room once in it; the directory is forbidden', async () => {
    const a = await open(alice);
    expect(await refused(a.push('say', { text: 'x' }, { channel: 'chat:random' }))).to.equal('not_member');
    expect(await refused(a.push('say', { text: 'x' }, { channel: DIRECTORY }))).to.equal('forbidden');
    expect(await refused(a.join('chat:random'))).to.equal('forbidden');
    expect(await refused(a.join('draw:lobby'))).to.equal('forbidden');
    // Put in another room by the server: frames naming it still get the room code.
    await kit.join(a.id, 'chat:random');
    expect(await refused(a.push('say', { text: 'x' }, { channel: 'chat:random' }))).to.equal('wrong_room');
    expect(kit.channelFrames('chat:random').filter((f) => f.cmd === 'message')).to.deep.equal([]);
    // An empty channel is the route channel, as on the wire.
    expect(await a.push('say', { text: 'here' }, { channel: '' })).to.have.property('id');
  });

  it('sends typing to the others only, and private messages to both users’ tabs', async () => {
    const a = await open(alice);
    const a2 = await open(alice, roomChannel('random'));
    const b = await open(bob);
    await a.push('typing', { typing: true });
    const typing = kit.sent.at(-1)!;
    expect(typing.except).to.deep.equal([a.id]);
    expect(b.frames('typing').map((f) => f.param)).to.deep.equal([{ userId: 'u1', name: 'Alice', typing: true, ttlMs: 4000 }]);
    expect(a.frames('typing')).to.deep.equal([]);

    expect(await refused(a.push('private', { to: 'u1', text: 'me?' }))).to.equal('invalid_target');
    expect(await refused(a.push('private', { to: 'nobody', text: 'hi' }))).to.equal('unknown_user');
    const { id } = await b.push('private', { to: 'u1', text: 'psst' });
    for (const s of [a, a2, b]) {
      expect(s.frames('private').map((f) => [f.param.id, f.param.from.name, f.param.to.name, f.param.text]), s.id).to.deep.equal([[id, 'Bob', 'Alice', 'psst']]);
    }
    expect(kit.sent.filter((s) => s.msg.cmd === 'private').map((s) => s.target)).to.deep.equal([
      { type: 'user', userId: 'u1' },
      { type: 'user', userId: 'u2' },
    ]);
  });

  it('renames a user everywhere and uses the nickname from then on', async () => {
    const a = await open(alice);
    const b = await open(bob);
    expect(await a.push('nick', { name: '  Ada  ' })).to.deep.equal({ name: 'Ada' });
    expect(a.frames('you').map((f) => f.param)).to.deep.equal([{ id: 'u1', name: 'Ada' }]);
    expect(b.frames('system').at(-1)?.param.text).to.equal('Alice is now known as Ada');
    await a.push('say', { text: 'renamed' });
    expect(b.frames('message').at(-1)?.param.name).to.equal('Ada');
  });

  it('throttles a burst of messages with rate_limited', async () => {
    const a = await open(alice);
    const answers = await Promise.all(Array.from({ length: MESSAGE_BURST + 1 }, (_, i) => a.request('say', { text: `m${i}` })));
    expect(answers.slice(0, MESSAGE_BURST).every((f) => f.cmd === 'reply')).to.equal(true);
    expect(answers[MESSAGE_BURST]).to.deep.include({ cmd: 'error', param: { code: 'rate_limited', message: 'too many messages: slow down' } });
  });

  it('tells the room when a user’s last tab closes, not before', async () => {
    const a = await open(alice);
    const a2 = await open(alice);
    const b: TestSession<ChatProtocol> = await open(bob);
    await a.close();
    await kit.idle();
    expect(b.frames('system').map((f) => f.param.text)).to.deep.equal([]);
    await a2.close();
    await eventually(() => expect(b.frames('system').map((f) => f.param.text)).to.deep.equal(['Alice left the room']));
    await eventually(() => expect(b.frames('users').at(-1)?.param.users).to.deep.equal([bob]));
    expect(await kit.presence(general)).to.deep.equal([bob]);
  });

  it('coalesces a burst of arrivals into one notice, and a user who came and went within it into none', async () => {
    const a = await open(alice);
    const names = ['Bo', 'Cy', 'Di', 'Ed', 'Flo'];
    const burst = await Promise.all(names.map((name, i) => open({ id: `b${i}`, name })));
    await burst[4]!.close(); // Flo joined and left within the interval: nobody is told of her
    await eventually(() => expect(a.frames('system').map((f) => [f.param.text, f.param.count])).to.deep.equal([['Bo, Cy, Di and 1 other joined the room', 4]]));
    // A joiner among several is told of the others in the same frame, not in one frame per arrival.
    expect(burst[0]!.frames('system').map((f) => f.param.kind)).to.deep.equal(['join']);
  });
});
