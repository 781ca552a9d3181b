import { html } from '../html';
import { layout } from '../layout';
import type { Thresholds } from '../../server/features/monitor/metrics';

export interface MonitorPageOptions {
  wsEnabled: boolean;
  intervalMs: number;
  thresholds: Thresholds;
}

const kpi = (id: string, label: string, sub: string) =>
  html`<div class="kpi" id="kpi-${id}"><span class="kpi-label">${label}</span><span class="kpi-value" data-value>—</span><span class="kpi-sub" data-sub>${sub}</span></div>`;

const chart = (id: string, title: string, unit: string) =>
  html`<figure class="chart-card"><figcaption>${title} <small>${unit}</small></figcaption><div class="chart-box"><canvas id="chart-${id}" aria-label="${title} chart" role="img"></canvas></div></figure>`;

/** The system monitor: server-measured metrics, live charts (client/pages/monitor.ts), alerts. */
export function monitorPage(o: MonitorPageOptions): string {
  const t = o.thresholds;
  return layout({
    title: 'System monitor',
    active: 'examples',
    styles: ['/css/monitor.css'],
    scripts: o.wsEnabled ? ['/js/pages/monitor.js'] : [],
    body: html`<div id="monitor" class="monitor">
  <header class="monitor-head">
    <div>
      <h1>System monitor <small>node <code id="node">—</code></small></h1>
      <p class="muted">Measured on the server every ${o.intervalMs / 1000} s while someone watches; every viewer sees the same samples and alerts.</p>
    </div>
    <div class="monitor-status"><span id="status" class="pill">${o.wsEnabled ? 'connecting…' : 'WebSockets disabled'}</span><span id="last-sample" class="muted"></span></div>
  </header>
  <div id="alerts" class="monitor-alerts" role="alert" hidden></div>
  <section class="kpis">
    ${kpi('cpu', 'Process CPU', 'system —')}
    ${kpi('rss', 'Memory (RSS)', 'heap —')}
    ${kpi('lag', 'Event-loop lag p99', 'mean —')}
    ${kpi('conns', 'Connections', 'channels —')}
    ${kpi('rate', 'Messages / s', 'in — · out —')}
    ${kpi('free', 'System memory free', 'of —')}
  </section>
  <section class="charts">
    ${chart('cpu', 'CPU', '% (process: of one core; system: of all cores)')}
    ${chart('memory', 'Memory', 'MiB')}
    ${chart('lag', 'Event-loop lag', 'ms')}
    ${chart('rate', 'Messages per second', 'frames/s')}
    ${chart('conns', 'Connections and channels', 'count')}
  </section>
  <p class="muted thresholds">Alert thresholds: process CPU ≥ <b>${t.cpuPercent}%</b> (<code>MONITOR_CPU_ALERT_PERCENT</code>),
  event-loop lag p99 ≥ <b>${t.lagMs} ms</b> (<code>MONITOR_LAG_ALERT_MS</code>),
  RSS ≥ <b>${t.rssMb} MiB</b> (<code>MONITOR_RSS_ALERT_MB</code>).</p>
</div>`,
  });
}
