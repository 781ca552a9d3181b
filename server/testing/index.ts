/**
 * `wsforge/testing`: test a handler without a server, like Phoenix's ChannelTest.
 *
 * ```ts
 * const kit = new HandlerTest<ChatProtocol>(handler, { authorize: roomAuthorize });
 * const alice = await kit.connect({ profile: { id: 'u1', name: 'Alice' }, channel: 'chat:general' }); // runs onOpen
 * await alice.push('say', { text: 'hi' });                        // the reply, or rejects with PushError {code, message}
 * expect(kit.sent.at(-1)).to.deep.include({ target: { type: 'channel', channel: 'chat:general' } });
 * expect(alice.received.map((f) => f.cmd)).to.include('message');
 * await alice.close();                                             // runs onClose
 * ```
 *
 * The kit is the `Sockets` its handlers get: writes are delivered in memory to the kit's sessions
 * (and recorded in `sent`), membership and presence work as on one node. A push goes the way a
 * frame goes in production (inbound.ts): the frame's checks, the built-in cmds, membership, the
 * route's `authorize`, then the very `handler.on` that `defineHandler` built, so validation is the
 * real one; its answer is the reply or error the client would get.
 *
 * Joins and leaves are announced as the server does, one `presence-diff` per channel to every
 * member, but when the test calls `kit.idle()` rather than on a timer.
 *
 * Not modelled: the rate limit and the inbox limit, credentials (`auth`, `refresh`, expiry),
 * codecs, history and resume (`join` with `since` joins without replay), a cluster, the slower
 * presence of channels above `presenceListMax`.
 */
export { HandlerTest, type HandlerTestOptions, type Sent, type Target } from './handler-test';
export { PushError, TestSession, type Answer, type ConnectOptions, type PushOptions } from './test-session';
