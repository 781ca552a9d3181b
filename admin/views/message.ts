import { html } from '../../views/html';
import { layout } from '../../views/layout';

/** A plain admin page saying why something cannot be shown: refused access, unknown connection, bad input. */
export function messagePage(title: string, message: string): string {
  return layout({
    title,
    active: 'admin',
    styles: ['/css/admin.css'],
    body: html`<section class="panel narrow">
  <header><h2>${title}</h2></header>
  <p class="error" role="alert">${message}</p>
  <p><a href="/admin/sockets">Back to the admin</a></p>
</section>`,
  });
}
