import { html } from '../../views/html';
import { adminLayout } from './chrome';

export interface LoginForm {
  csrf: string;
  /** Where to go after signing in (an /admin path). */
  next: string;
  error?: string;
}

/** /admin/login: the ADMIN_TOKEN form. Signing in sets an HttpOnly cookie holding a derived value, never the token. */
export function loginPage(form: LoginForm): string {
  return adminLayout({
    title: 'Admin sign in',
    body: html`<section class="panel narrow">
  <header><h2>Admin sign in</h2></header>
  ${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
  <form method="post" action="/admin/login" class="stack">
    <input type="hidden" name="csrf" value="${form.csrf}">
    <input type="hidden" name="next" value="${form.next}">
    <label>Admin token <input type="password" name="token" required autocomplete="current-password" autofocus></label>
    <div class="actions"><button>Sign in</button></div>
  </form>
  <p class="hint">The token is the server's <code>ADMIN_TOKEN</code>. Scripts can send <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
</section>`,
  });
}
