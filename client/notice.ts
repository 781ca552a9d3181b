import { noticeLevels, type Notice } from '../server/socket/notice';

let banner: HTMLElement | undefined;

/**
 * The `notice` frame on every example page, done once: call it first in the Socket's onMessage.
 * A notice shows in one banner at the top of the page (text only, never HTML), replacing the
 * last one, until dismissed; it never becomes a line of the page's content. Returns whether the
 * frame was a notice (the page then ignores it).
 */
export function showNotice(frame: { cmd: string; param: unknown }): boolean {
  if (frame.cmd !== 'notice') return false;
  const { text, level } = (frame.param ?? {}) as Partial<Notice>;
  if (typeof text !== 'string' || !text) return true;
  const el = (banner ??= createBanner());
  el.dataset.level = level && noticeLevels.includes(level) ? level : 'info';
  el.querySelector('.server-notice-text')!.textContent = text;
  el.hidden = false;
  return true;
}

function createBanner(): HTMLElement {
  const el = document.createElement('div');
  el.className = 'server-notice';
  el.setAttribute('role', 'status');
  const text = document.createElement('span');
  text.className = 'server-notice-text';
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'secondary';
  close.textContent = 'Dismiss';
  close.addEventListener('click', () => (el.hidden = true));
  el.append(text, close);
  // Outside the page's controls: a page closed for good (connection-ui.ts) still lets it be dismissed.
  (document.querySelector('main') ?? document.body).prepend(el);
  return el;
}
