/**
 * Every page in Chromium with axe-core (issue 14): no WCAG 2 A/AA violation, at desktop
 * (1280x800) and phone (390x844, touch) sizes; on a phone no page scrolls sideways and the chat
 * shows the conversation first. Each page's screenshot is saved as a test artifact:
 * test-artifacts/screenshots/<page>-<desktop|phone>.png.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { launchBrowser, screenshot } from './browser';
import { closeAll, connect, startApp, type TestApp } from './helpers';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// bypassCSP: the pages' strict CSP would refuse the injected axe script.
const sizes: Record<'desktop' | 'phone', BrowserContextOptions> = {
  desktop: { viewport: { width: 1280, height: 800 }, bypassCSP: true },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, bypassCSP: true },
};

/** A page, and what shows it is ready (connected, or its live data in). */
interface PageCase {
  name: string;
  path: string;
  ready: string;
}

const connected = '#status[data-state="connected"], #status[data-state="ok"]';
const examplePages: PageCase[] = [
  { name: 'home', path: '/', ready: 'h1' },
  { name: 'examples', path: '/examples', ready: '.examples-grid' },
  { name: 'example', path: '/example', ready: '#status[data-state="connected"]' },
  { name: 'chat', path: '/examples/chat?room=a11y&name=Ada', ready: '#user-list .chat-you' },
  { name: 'draw', path: '/examples/draw?room=a11y&name=Ada', ready: connected },
  { name: 'kanban', path: '/examples/kanban?room=a11y&name=Ada', ready: connected },
  { name: 'editor', path: '/examples/editor?room=a11y&name=Ada', ready: connected },
  { name: 'monitor', path: '/examples/monitor', ready: connected },
  { name: 'spreadsheet', path: '/examples/spreadsheet?room=a11y&name=Ada', ready: connected },
];

describe('accessibility and phones: every page', function () {
  this.timeout(120_000);
  let browser: Browser;
  let t: TestApp;

  before(async () => {
    // Page scripts are served from public/js, which only the build writes.
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    browser = await launchBrowser();
    t = await startApp({ admin: { statusIntervalMs: 200 } });
  });
  after(async () => {
    await closeAll();
    await browser?.close();
  });

  /** Opens the page at that size, waits for it to be ready, checks it and saves its screenshot. */
  async function check(size: keyof typeof sizes, c: PageCase, app = t): Promise<Page> {
    const context = await browser.newContext(sizes[size]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(app.httpUrl(c.path));
      await page.locator(c.ready).first().waitFor();
      await page.addScriptTag({ content: axeSource });
      const violations = await page.evaluate(async (tags) => {
        const result = await (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe.run(document, {
          runOnly: { type: 'tag', values: tags },
        });
        return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
      }, wcagTags);
      expect(violations, `axe violations on ${c.name} (${size})`).to.deep.equal([]);
      if (size === 'phone') {
        const widths = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, inner: innerWidth }));
        expect(widths.scroll, `${c.name} scrolls sideways on a phone`).to.be.at.most(widths.inner);
      }
      await screenshot(page, `screenshots/${c.name}-${size}`);
      expect(errors, 'page errors').to.deep.equal([]);
      return page;
    } finally {
      await context.close();
    }
  }

  for (const size of ['desktop', 'phone'] as const) {
    for (const c of examplePages) it(`${c.name} (${size})`, () => check(size, c));

    it(`admin pages (${size}): sockets, a channel, a connection, the tap`, async () => {
      await connect(t.url('/example/socket?ch=a11y'), { headers: { 'user-agent': 'Agent/A11y' } });
      const conn = t.app.sockets!.getConnections().find((s) => s.userAgent === 'Agent/A11y')!;
      const live = '#live.on';
      await check(size, { name: 'admin-sockets', path: '/admin/sockets', ready: '#connections tbody tr a.id' });
      await check(size, { name: 'admin-channel', path: '/admin/sockets/chan/a11y', ready: '#members tbody tr a.id' });
      await check(size, { name: 'admin-connection', path: `/admin/sockets/conn/${conn.id}`, ready: '#details dd' });
      await check(size, { name: 'admin-tap', path: '/admin/sockets/tap', ready: live });
      conn.close(1000, 'done');
    });

    it(`admin login, when ADMIN_TOKEN is set (${size})`, async () => {
      const locked = await startApp({ admin: { token: 'a11y-test-token-123' } });
      await check(size, { name: 'admin-login', path: '/admin/login', ready: 'input[name=token]' }, locked);
      await locked.close();
    });
  }

  it('on a phone, the chat shows the conversation first: its compose box is on the first screen', async () => {
    const context = await browser.newContext(sizes.phone);
    try {
      const page = await context.newPage();
      await page.goto(t.httpUrl('/examples/chat?room=a11y-phone&name=Pia'));
      await page.locator('#user-list .chat-you').waitFor();
      const top = (sel: string) => page.locator(sel).evaluate((e) => e.getBoundingClientRect().top);
      expect(await top('#messages'), 'conversation above the rooms').to.be.below(await top('#room-list'));
      expect(await top('#messages'), 'conversation above the people').to.be.below(await top('#user-list'));
      const compose = await page.locator('#message-input').evaluate((e) => e.getBoundingClientRect().bottom);
      expect(compose, 'compose box within the first screen').to.be.at.most(844);
    } finally {
      await context.close();
    }
  });
});
