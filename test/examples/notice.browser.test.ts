/**
 * The admin's notice (issue 14): a `notice` frame sent by the admin (its socket, as the admin
 * pages send it) shows on the chat and kanban pages as a notice banner, as text, and never as a
 * chat line; the admin cannot send a chat `message` (posting as "Admin" or as a user).
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { adminSocketPath } from '../../admin/protocol';
import { roomChannel } from '../../server/features/chat/chat';
import { usePages } from '../browser';
import { closeAll, connect, startApp, type TestApp, type TestClient } from '../helpers';

describe('admin notices on the example pages', function () {
  this.timeout(60_000);
  const pages = usePages();
  let t: TestApp;
  let admin: TestClient;

  beforeEach(async () => {
    t = await startApp({ store: 'memory' });
    admin = await connect(t.url(adminSocketPath));
  });
  afterEach(closeAll);

  /** The server-side connection of the page of `name` on the example at `path`. */
  const connOf = (path: string, name: string) => t.app.sockets!.getConnections().find((c) => c.route.startsWith(path) && c.profile.name === name)!.id;
  const notice = (p: Page) => p.locator('.server-notice');

  async function chatPage(room: string, name: string): Promise<Page> {
    const page = await pages.open(t.httpUrl(`/examples/chat?room=${room}&name=${name}`));
    await page.locator('#user-list .chat-you').waitFor();
    return page;
  }

  it('a notice to a chat page and a kanban page shows as a notice, as text, and adds no chat line', async () => {
    const chat = await chatPage('notices', 'Nia');
    await chat.fill('#message-input', 'before the notice');
    await chat.press('#message-input', 'Enter');
    await chat.locator('#messages li.msg[data-state="sent"], #messages li.msg:not(.pending)', { hasText: 'before the notice' }).first().waitFor();
    const lines = await chat.locator('#messages li').count();

    const text = '<b>Maintenance</b> at 18:00';
    const sent = await admin.request('', 'send', { connId: connOf('/examples/chat', 'Nia'), channel: '', cmd: 'notice', param: JSON.stringify({ text, level: 'warning' }), count: true });
    expect(sent.param).to.deep.include({ sent: true, here: 1 });
    await notice(chat).waitFor();
    expect(await notice(chat).locator('.server-notice-text').textContent()).to.equal(text);
    expect(await notice(chat).getAttribute('data-level')).to.equal('warning');
    expect(await chat.locator('.server-notice b').count(), 'text, not HTML').to.equal(0);
    expect(await chat.locator('#messages li').count(), 'no chat line').to.equal(lines);
    expect(await chat.locator('#messages', { hasText: 'Maintenance' }).count()).to.equal(0);
    await chat.getByRole('button', { name: 'Dismiss' }).click();
    await notice(chat).waitFor({ state: 'hidden' });

    const kanban = await pages.open(t.httpUrl('/examples/kanban?room=notices&name=Kai'));
    await kanban.locator('#status[data-state="connected"]').waitFor();
    await admin.request('', 'send', { connId: connOf('/examples/kanban', 'Kai'), channel: '', cmd: 'notice', param: '{"text": "Board frozen for a minute"}' });
    await notice(kanban).waitFor();
    expect(await notice(kanban).textContent()).to.contain('Board frozen for a minute');
    expect(await notice(kanban).getAttribute('data-level')).to.equal('info');
  });

  it('the connection page\'s "Send a notice" form reaches the chat page as a notice', async () => {
    const chat = await chatPage('notice-form', 'Ona');
    const adminPage = await pages.open(t.httpUrl(`/admin/sockets/conn/${connOf('/examples/chat', 'Ona')}`));
    await adminPage.locator('#live', { hasText: 'live' }).waitFor();
    await adminPage.getByLabel('text').fill('Please save your work');
    await adminPage.getByLabel('level').selectOption('error');
    await adminPage.getByRole('button', { name: 'Send notice' }).click();
    await adminPage.locator('#notice output.ok', { hasText: 'Received by 1 connection' }).waitFor();
    await notice(chat).waitFor();
    expect(await notice(chat).textContent()).to.contain('Please save your work');
    expect(await notice(chat).getAttribute('data-level')).to.equal('error');
    expect(await chat.locator('#messages', { hasText: 'Please save your work' }).count()).to.equal(0);
  });

  it('the admin cannot post a chat message (as "Admin" or anyone): refused, and the page shows nothing', async () => {
    const room = 'forged';
    const chat = await chatPage(room, 'Pat');
    const lines = await chat.locator('#messages li').count();
    const forged = JSON.stringify({ id: 'x1', userId: 'wsforge-admin', name: 'Admin', text: 'I am the admin', time: Date.now() });
    const sent = await admin.request('', 'send', { connId: connOf('/examples/chat', 'Pat'), channel: '', cmd: 'message', param: forged });
    expect(sent).to.deep.include({ cmd: 'error' });
    expect(sent.param.code).to.equal('invalid_param');
    expect(sent.param.message).to.contain('the chat protocol').and.contain('send a notice');
    const published = await admin.request('', 'publish', { channel: roomChannel(room), cmd: 'message', param: forged, count: true });
    expect(published.param.code).to.equal('invalid_param');
    // Nor the service's own frames, and a notice must have a text.
    expect((await admin.request('', 'publish', { channel: roomChannel(room), cmd: 'close-connection', param: '{"reason": "x"}' })).param.code).to.equal('invalid_param');
    expect((await admin.request('', 'publish', { channel: roomChannel(room), cmd: 'notice', param: '{"level": "info"}' })).param.code).to.equal('invalid_param');

    // A notice to the room does reach it (the frames above were refused, not lost).
    const ok = await admin.request('', 'publish', { channel: roomChannel(room), cmd: 'notice', param: '{"text": "room notice"}', count: true });
    expect(ok.param).to.deep.include({ members: 1 });
    await notice(chat).waitFor();
    expect(await chat.locator('#messages li').count()).to.equal(lines);
    expect(await chat.locator('#messages', { hasText: 'I am the admin' }).count()).to.equal(0);
  });
});
