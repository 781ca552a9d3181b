import { html } from '../../views/html';
import { adminLayout } from './chrome';

/** A plain admin page saying why something cannot be shown: refused access, unknown connection, bad input. */
export function messagePage(title: string, message: string): string {
  return adminLayout({
    title,
    body: html`<section class="panel narrow">
  <header><h2>${title}</h2></header>
  <p class="error" role="alert">${message}</p>
  <p><a href="/admin/sockets">Back to the admin</a></p>
</section>`,
  });
}
