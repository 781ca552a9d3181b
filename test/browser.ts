import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const artifactsDir = new URL('../test-artifacts/', import.meta.url).pathname;

/** Launches headless Chromium; fails with the install step when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: install it with "apt-get update && apt-get install -y chromium" (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

interface Opened {
  context: BrowserContext;
  page: Page;
  /** Page errors (and console errors, unless connection failures are expected). */
  errors: string[];
}

/** A fresh, independent context (own cookies and storage) with one page; page errors fail loudly. */
export async function openPage(browser: Browser, url: string): Promise<Opened> {
  const opened = await newPage(browser, true);
  await opened.page.goto(url);
  return opened;
}

/**
 * Like openPage, with a switch on the page's WebSocket connections: while `outage.on`, every
 * (re)connect is refused (1011). The failed connections log console errors, so only page errors count.
 * `prepare` runs on the context before the page loads (an init script, say).
 */
export async function openSwitchedPage(browser: Browser, url: string, prepare?: (context: BrowserContext) => Promise<unknown>): Promise<Opened & { outage: { on: boolean } }> {
  const outage = { on: false };
  const opened = await newPage(browser, false);
  await prepare?.(opened.context);
  // Routed before the page loads: the page's Socket keeps the WebSocket constructor it found then.
  await opened.context.routeWebSocket(/\/socket/, (ws) => (outage.on ? ws.close({ code: 1011, reason: 'test outage' }) : ws.connectToServer()));
  await opened.page.goto(url);
  return { ...opened, outage };
}

async function newPage(browser: Browser, consoleErrors: boolean): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (consoleErrors && msg.type() === 'error') errors.push(msg.text());
  });
  return { context, page, errors };
}

/** Saves a full-page screenshot under test-artifacts/ as a test artifact (`name` may hold a subfolder). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = `${artifactsDir}${name}.png`;
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Mocha hooks for a browser suite: page scripts built and one Chromium before all, a fresh
 * context per `open` (own cookies: another user), contexts closed after each test, and any page
 * error or console error in them fails that test.
 */
export function usePages(): { readonly contexts: BrowserContext[]; readonly errors: string[][]; open(url: string): Promise<Page> } {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const errors: string[][] = [];
  before(async () => {
    // Page scripts are served from public/js, which only the build writes.
    execFileSync(process.execPath, ['build.mjs'], { stdio: 'ignore' });
    browser = await launchBrowser();
  });
  after(() => browser?.close());
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    for (const e of errors.splice(0)) expect(e).to.deep.equal([]);
  });
  return {
    contexts,
    errors,
    async open(url) {
      const opened = await openPage(browser!, url);
      contexts.push(opened.context);
      errors.push(opened.errors);
      return opened.page;
    },
  };
}

/** The code editor's text as the user sees it: remote carets (with their name labels) and the placeholder left out. */
/**
 * Records every state the page's `#status` pill takes from now on, so a test can ask whether one
 * was passed through: a reconnect after a jittered delay of a few ms shows "reconnecting" too
 * briefly for polling to see.
 */
export async function watchStatus(page: Page): Promise<{ saw(state: string, timeoutMs?: number): Promise<unknown> }> {
  await page.evaluate(() => {
    const status = document.getElementById('status')!;
    const w = window as unknown as { statesSeen: string[] };
    w.statesSeen = [];
    new MutationObserver(() => w.statesSeen.push(status.dataset.state ?? '')).observe(status, { attributes: true, attributeFilter: ['data-state'] });
  });
  return {
    saw: (state, timeoutMs = 10_000) => page.waitForFunction((s) => (window as unknown as { statesSeen: string[] }).statesSeen.includes(s), state, { timeout: timeoutMs }),
  };
}

export function editorText(page: Page): Promise<string> {
  return page.evaluate(() =>
    [...document.querySelectorAll('.cm-content .cm-line')]
      .map((line) => {
        const copy = line.cloneNode(true) as HTMLElement;
        copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder').forEach((e) => e.remove());
        return copy.textContent ?? '';
      })
      .join('\n'),
  );
}
