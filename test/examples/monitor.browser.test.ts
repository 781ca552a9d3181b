import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { screenshot, usePages } from '../browser';
import { closeAll, startApp, type TestApp } from '../helpers';

describe('system monitor page in a browser', function () {
  this.timeout(40_000);
  const pages = usePages();
  afterEach(closeAll);

  async function viewer(t: TestApp): Promise<Page> {
    const page = await pages.open(t.httpUrl('/examples/monitor'));
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    return page;
  }
  const liveSamples = (page: Page) => page.evaluate(() => Number(document.getElementById('monitor')!.dataset.samples ?? 0));
  /** Painted (non-transparent) pixels of each chart canvas. */
  const painted = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      }),
    );
  const kpi = (page: Page, id: string) => page.locator(`#kpi-${id} [data-value]`);

  it('draws live charts from samples pushed every second; a late viewer gets the history at once', async () => {
    // The default 1 s interval; alert limits out of reach, since a busy CI machine can cross the real ones.
    const t = await startApp({ monitor: { cpuAlertPercent: 1e6, lagAlertMs: 1e6 } });
    const a = await viewer(t);
    await a.waitForFunction(() => Number(document.getElementById('monitor')!.dataset.samples ?? 0) >= 1, undefined, { timeout: 5000 });
    const first = Date.now();
    const n0 = await liveSamples(a);
    await a.waitForFunction((n) => Number(document.getElementById('monitor')!.dataset.samples) >= n + 2, n0, { timeout: 6000 });
    const elapsed = Date.now() - first;
    expect(elapsed, 'two more samples').to.be.within(1200, 3500);
    expect(await kpi(a, 'conns').textContent()).to.equal('1');
    expect(await kpi(a, 'rss').textContent()).to.match(/^\d+\.\d MiB$/);
    expect(await kpi(a, 'cpu').textContent()).to.match(/^\d+\.\d %$/);
    expect(await a.textContent('#node')).to.equal(t.app.sockets!.node);
    // Five charts, each painted (axes, grid and lines), with as many points as samples.
    const px = await painted(a);
    expect(px).to.have.length(5);
    for (const n of px) expect(n).to.be.above(1000);

    // A second viewer: the first sees the connection count go up (server-measured, pushed to both).
    const b = await viewer(t);
    await kpi(a, 'conns').filter({ hasText: /^2$/ }).waitFor({ timeout: 5000 });
    await kpi(b, 'conns').filter({ hasText: /^2$/ }).waitFor({ timeout: 5000 });
    await screenshot(a, 'monitor-live');

    // A third viewer, later: its charts are drawn from the history before any live sample arrives.
    const c = await viewer(t);
    await c.waitForFunction(() => document.getElementById('monitor')!.dataset.history !== undefined);
    expect(Number(await c.evaluate(() => document.getElementById('monitor')!.dataset.history))).to.be.at.least(3);
    expect(await liveSamples(c)).to.be.at.most(1);
    for (const n of await painted(c)) expect(n).to.be.above(1000);
    await c.waitForFunction(() => Number(document.getElementById('monitor')!.dataset.samples ?? 0) >= 1, undefined, { timeout: 5000 });
    await kpi(c, 'conns').filter({ hasText: /^3$/ }).waitFor({ timeout: 5000 });
    expect(await c.isHidden('#alerts')).to.equal(true);
  });

  it('shows the alert the server computed when a threshold is crossed', async () => {
    // Only the RSS limit is low; the others are out of reach even on a busy CI machine.
    const t = await startApp({ monitor: { rssAlertMb: 1, cpuAlertPercent: 1e6, lagAlertMs: 1e6, intervalMs: 500 } });
    const a = await viewer(t);
    const b = await viewer(t);
    for (const p of [a, b]) {
      await p.locator('#alerts .monitor-alert[data-metric="rss"]', { hasText: /RSS [\d.]+ MiB ≥ 1 MiB/ }).waitFor({ timeout: 5000 });
      expect(await p.getAttribute('#kpi-rss', 'class')).to.match(/\balert\b/);
      expect(await p.locator('#alerts .monitor-alert').count()).to.equal(1);
    }
    await screenshot(a, 'monitor-alert');
  });
});
