import { html, type SafeHtml } from '../../views/html';
import { layout, type Page } from '../../views/layout';
import { noticeLevels } from '../../server/socket/message';
import { adminSocketPath } from '../protocol';

/** What every admin page shows about access: how it is protected, and the sign-out form's CSRF token. */
export interface Access {
  /** ADMIN_TOKEN is unset: the admin answers loopback peers only. */
  loopbackOnly: boolean;
  /** CSRF token of the sign-out form (when a token is configured). */
  csrf?: string;
}

export interface AdminPage {
  title: string;
  /** Which tab is highlighted. */
  tab?: 'overview' | 'tap';
  heading: SafeHtml;
  body: SafeHtml;
  /** Page script under /js/pages/. */
  script: string;
  /** data-* attributes of the page root: how the page script gets its parameters. */
  data?: Record<string, string | number>;
}

const tabs: Array<[key: AdminPage['tab'], href: string, label: string]> = [
  ['overview', '/admin/sockets', 'Overview'],
  ['tap', '/admin/sockets/tap', 'Tap'],
];

/** The admin frame: tabs, live indicator, access notice or sign-out, then the page. */
export function adminPage(access: Access, page: AdminPage): string {
  // Attribute names come from the page functions, values are escaped like everything else.
  const data = Object.entries(page.data ?? {}).map(([name, value]) => html` data-${name}="${value}"`);
  return adminLayout({
    title: page.title,
    scripts: [`${adminAssets}/js/pages/${page.script}.js`],
    body: html`<div class="admin" id="admin" data-socket="${adminSocketPath}"${data}>
<header class="admin-bar">
  <nav class="tabs">${tabs.map(([key, href, label]) => html`<a href="${href}"${key === page.tab ? html` class="active"` : ''}>${label}</a>`)}<a href="/admin/sockets.json">JSON</a></nav>
  <span class="live" id="live" role="status">connecting…</span>
  ${
    access.loopbackOnly
      ? ''
      : html`<form class="signout" method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${access.csrf}"><button class="link">Sign out</button></form>`
  }
</header>
${access.loopbackOnly ? html`<p class="notice" id="access-notice"><strong>ADMIN_TOKEN is not set:</strong> this admin answers requests from loopback addresses only. Set <code>ADMIN_TOKEN</code> to open it to other hosts behind a credential.</p>` : ''}
<h1>${page.heading}</h1>
${page.body}
</div>`,
  });
}

/**
 * Where the admin serves its styles and scripts (admin/index.ts): its own path, because it may be
 * mounted in an app whose /css and /js are the app's.
 */
export const adminAssets = '/admin/assets';

/** The layout of every admin page: the admin's own assets, no site navigation (the app's pages are not ours to list). */
export function adminLayout(page: Omit<Page, 'assets' | 'nav' | 'styles' | 'active'>): string {
  return layout({ ...page, active: 'admin', assets: adminAssets, nav: false, styles: [`${adminAssets}/css/admin.css`] });
}

/** A panel with a title, an optional search box and a table the page script fills (its scroller reachable by keyboard, for phones). */
export function tablePanel(id: string, title: string, search?: string): SafeHtml {
  return html`<section class="panel">
  <header><h2>${title}</h2>${search ? html`<input type="search" id="${id}-search" placeholder="${search}" aria-label="${search}" autocomplete="off">` : ''}</header>
  <div class="scroll" tabindex="0" role="region" aria-label="${title}"><table class="grid" id="${id}"></table></div>
  <nav class="pager" id="${id}-pager"></nav>
</section>`;
}

/** The "Send a notice" form (id `notice`) of the connection and channel pages: a text and its level, sent as a `notice` frame. */
export function noticePanel(title: string, hint: string, button: string): SafeHtml {
  return html`<section class="panel">
  <header><h2>${title}</h2></header>
  <form id="notice" class="stack">
    <label>text <textarea name="text" rows="3" required></textarea></label>
    <label>level <select name="level">${noticeLevels.map((l) => html`<option value="${l}">${l}</option>`)}</select></label>
    <p class="hint">${hint}</p>
    <div class="actions"><button>${button}</button><output role="status"></output></div>
  </form>
</section>`;
}
