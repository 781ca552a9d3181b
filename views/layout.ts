import { html, type SafeHtml } from './html';

export interface Page {
  title: string;
  body: SafeHtml;
  /** Module scripts under /js/; no inline script, so a strict CSP can apply. */
  scripts?: string[];
  /** Nav key of the current page, highlighted. */
  active?: string;
  /** Extra stylesheets under /css/ for this page, after app.css. */
  styles?: string[];
  /** Where app.css and the icon are served; default the site root. The admin serves its own (it may live in another app). */
  assets?: string;
  /** The site's navigation bar; default shown. */
  nav?: boolean;
}

const nav: Array<[key: string, href: string, label: string]> = [
  ['home', '/', 'wsforge'],
  ['example', '/example', 'Example'],
  ['examples', '/examples', 'Examples'],
  ['admin', '/admin/sockets', 'Admin'],
];

/** The one layout every page uses: navigation, stylesheet, body, module scripts. */
export function layout(page: Page): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · wsforge</title>
<link rel="icon" href="${page.assets ?? ''}/favicon.svg">
<link rel="stylesheet" href="${page.assets ?? ''}/css/app.css">
${(page.styles ?? []).map((href) => html`<link rel="stylesheet" href="${href}">
`)}</head>
<body>
${page.nav === false ? '' : html`<nav class="top">${nav.map(([key, href, label]) => html`<a href="${href}"${key === page.active ? html` class="active"` : ''}>${label}</a>`)}</nav>`}
<main>${page.body}</main>
${(page.scripts ?? []).map((src) => html`<script type="module" src="${src}"></script>`)}
</body>
</html>`.value;
}
