import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { roomChannel } from '../../server/features/chat/chat';
import { screenshot, usePages, watchStatus } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

describe('chat page in a browser', function () {
  this.timeout(45_000);
  const pages = usePages();
  let t: TestApp;
  let origin: string;

  before(async () => {
    t = await startApp();
    origin = t.httpUrl('');
  });
  after(closeAll);

  /** One independent browser (own cookies: its own guest identity) on the chat page. */
  async function user(room: string, name: string): Promise<Page> {
    const page = await pages.open(`${origin}/examples/chat?room=${room}&name=${name}`);
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#user-list .chat-you').waitFor();
    return page;
  }

  const messages = (page: Page) => page.locator('#messages li').allTextContents();
  const userNames = (page: Page) => page.locator('#user-list .chat-user-name').allTextContents();

  it('two browsers chat live: messages, room list, user list, typing, private messages; a third sees the history', async () => {
    const room = `lobby-${Date.now().toString(36)}`;
    const alice = await user(room, 'Alice');
    const bob = await user(room, 'Bob');

    // Each sees the other in the room, one entry each.
    await alice.locator('#user-list .chat-user-name', { hasText: 'Bob' }).waitFor();
    expect(await userNames(alice)).to.deep.equal(['Alice', 'Bob']);
    expect(await userNames(bob)).to.deep.equal(['Alice', 'Bob']);
    await alice.locator('#messages li.system', { hasText: 'Bob joined the room' }).waitFor();

    // A message (with markup, which must stay text) from Alice appears for Bob.
    await alice.fill('#message-input', 'Hello Bob <img src=x onerror="document.title=\'pwned\'">');
    await alice.press('#message-input', 'Enter');
    const line = bob.locator('#messages li.msg:not(.system)', { hasText: 'Hello Bob' });
    await line.waitFor();
    expect(await line.locator('.msg-who').textContent()).to.equal('Alice');
    expect(await line.locator('.msg-text').textContent()).to.equal('Hello Bob <img src=x onerror="document.title=\'pwned\'">');
    expect(await bob.locator('#messages img').count()).to.equal(0);
    expect(await bob.title()).not.to.equal('pwned');
    await alice.locator('#messages li.mine', { hasText: 'Hello Bob' }).waitFor();

    // Bob types: Alice sees the indicator, and it goes when Bob sends.
    await bob.locator('#message-input').pressSequentially('Hi Ali', { delay: 20 });
    await alice.locator('#typing', { hasText: 'Bob is typing…' }).waitFor();
    await screenshot(alice, 'chat-typing');
    await bob.type('#message-input', 'ce!');
    await bob.press('#message-input', 'Enter');
    await alice.locator('#messages li', { hasText: 'Hi Alice!' }).waitFor();
    await alice.waitForFunction(() => document.getElementById('typing')!.textContent === '');

    // Alice creates a room: it appears in Bob's room list, and Alice moves into it.
    const side = `${room}-side`;
    await alice.fill('#room-input', side);
    await alice.press('#room-input', 'Enter');
    await bob.locator(`#room-list [data-room="${side}"]`).waitFor();
    await alice.locator(`#room-list [data-room="${side}"].current`).waitFor();
    await alice.locator('#status[data-state="connected"]').waitFor();
    expect(new URL(alice.url()).searchParams.get('room')).to.equal(side);
    await bob.locator('#messages li.system', { hasText: 'Alice left the room' }).waitFor();
    await bob.waitForFunction(() => document.querySelectorAll('#user-list .chat-user').length === 1);
    await bob.locator(`#room-list [data-room="${side}"] .chat-count`, { hasText: '1' }).waitFor();

    // Private message across rooms: Alice (in the new room) back to Bob via a reply to his PM.
    await bob.click(`#room-list [data-room="${side}"]`); // Bob follows her
    await bob.locator('#user-list .chat-user-name', { hasText: 'Alice' }).waitFor();
    await bob.click('#user-list .chat-user:has-text("Alice")');
    await bob.locator('#pm-bar:not([hidden])', { hasText: 'Alice' }).waitFor();
    await bob.fill('#message-input', 'a secret for Alice');
    await bob.press('#message-input', 'Enter');
    const pm = alice.locator('#messages li.private', { hasText: 'a secret for Alice' });
    await pm.waitFor();
    expect(await pm.locator('.msg-who').textContent()).to.equal('Bob → you');
    await bob.locator('#messages li.private.mine', { hasText: 'a secret for Alice' }).waitFor();

    // Nickname: Alice renames; Bob's user list follows.
    await alice.fill('#nick-input', 'Alicia');
    await alice.press('#nick-input', 'Enter');
    await bob.locator('#user-list .chat-user-name', { hasText: 'Alicia' }).waitFor();
    await bob.locator('#messages li.system', { hasText: 'Alice is now known as Alicia' }).waitFor();

    await alice.fill('#message-input', 'in the side room');
    await alice.press('#message-input', 'Enter');
    await bob.locator('#messages li', { hasText: 'in the side room' }).waitFor();
    await screenshot(alice, 'chat-alice');
    await screenshot(bob, 'chat-bob');

    // A third browser opened later gets the room's last messages (not private ones) and the people.
    const carol = await user(side, 'Carol');
    const history = await messages(carol);
    expect(history.some((t) => t.includes('in the side room'))).to.equal(true);
    expect(history.some((t) => t.includes('a secret for Alice'))).to.equal(false);
    expect(await userNames(carol)).to.have.members(['Alicia', 'Bob', 'Carol']);
    const lobby = await user(room, 'Dave');
    const lobbyHistory = await messages(lobby);
    expect(lobbyHistory.filter((t) => /Hello Bob|Hi Alice!/.test(t))).to.have.length(2);
    await screenshot(carol, 'chat-late-joiner');
  });

  it('survives a reconnect: shows the outage, then re-syncs from the server', async () => {
    const room = `re-${Date.now().toString(36)}`;
    const alice = await user(room, 'Alice');
    const bob = await user(room, 'Bob');
    await alice.fill('#message-input', 'before the outage');
    await alice.press('#message-input', 'Enter');
    await bob.locator('#messages li', { hasText: 'before the outage' }).waitFor();

    // The server drops Bob's connection with a code that lets the client reconnect.
    const svc = t.app.sockets!;
    const bobsConn = svc.getConnectionsByChannel(roomChannel(room)).find((c) => c.profile.name === 'Bob')!;
    const bobStatus = await watchStatus(bob);
    svc.disconnect(bobsConn.id, 1012, 'restart');
    await bobStatus.saw('reconnecting');
    await alice.fill('#message-input', 'while Bob was away');
    await alice.press('#message-input', 'Enter');
    await bob.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    await bob.locator('#messages li', { hasText: 'while Bob was away' }).waitFor();
    expect((await messages(bob)).filter((t) => t.includes('before the outage'))).to.have.length(1);
    expect(await userNames(bob)).to.deep.equal(['Alice', 'Bob']);
  });

  it('reaches the page from Base’s /static/chat.html and lists it on /examples', async () => {
    const page = await pages.open(`${origin}/static/chat.html?room=from-base`);
    expect(new URL(page.url()).pathname).to.equal('/examples/chat');
    await page.locator('#room-title', { hasText: '# from-base' }).waitFor();
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.goto(`${origin}/examples`);
    expect(await page.locator('.example-card').count()).to.equal(6);
    await screenshot(page, 'examples-index');
    await page.click('.example-card a[href="/examples/chat"]');
    await page.locator('#status[data-state="connected"]').waitFor();
  });

  it('shows the user count alone in a room above WS_PRESENCE_LIST_MAX, and the list again below it', async () => {
    const big = await startApp({ socket: { presenceListMax: 2 } });
    const room = `crowd-${Date.now().toString(36)}`;
    const open = async (name: string) => {
      const page = await pages.open(`${big.httpUrl('')}/examples/chat?room=${room}&name=${name}`);
      await page.locator('#status[data-state="connected"]').waitFor();
      return page;
    };
    const alice = await open('Alice');
    await open('Bob');
    await alice.locator('#user-list .chat-user-name', { hasText: 'Bob' }).waitFor();
    const cid = await open('Cid');
    for (const page of [alice, cid]) {
      await page.locator('#user-list li', { hasText: '3 users: too many to list' }).waitFor();
      expect(await page.locator('#user-count').textContent()).to.equal('3');
    }
    await cid.close();
    await alice.locator('#user-list .chat-user-name', { hasText: 'Bob' }).waitFor();
    expect(await userNames(alice)).to.deep.equal(['Alice', 'Bob']);
  });
});
