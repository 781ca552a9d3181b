// The /examples/monitor page: samples measured on the server, drawn with Chart.js.
// Only the Chart.js parts a line chart needs are imported and registered, to keep the bundle small.
import { CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import type { MonitorProtocol, Sample, Thresholds } from '../../server/features/monitor/protocol';
import { Socket } from '../socket';
import { connectionUi } from '../connection-ui';
import { showNotice } from '../notice';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Filler, Legend, Tooltip);

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const root = byId('monitor');
const statusEl = byId('status');
const lastEl = byId('last-sample');
const alertsEl = byId('alerts');
const MiB = 1024 * 1024;

/** Samples on screen, oldest first, unique by time; as many as the server keeps (hello tells). */
let samples: Sample[] = [];
let maxPoints = 60;
let thresholds: Thresholds | undefined;
let received = 0;
/** Whether a chart's values come near its alert line (≥ 40 %): a far-away line would flatten the chart. */
const near = { rss: false, lag: false };

const palette = { blue: '#2f6fed', teal: '#0f9d8a', orange: '#e8710a', purple: '#8e44ad', red: '#c0392b', grey: '#98a2b3' };

function line(label: string, color: string, extra: Partial<ChartDataset<'line'>> = {}): ChartDataset<'line'> {
  return { label, data: [], borderColor: color, backgroundColor: `${color}22`, borderWidth: 2, pointRadius: 0, tension: 0.25, ...extra };
}
/** A dashed horizontal line at an alert threshold. */
const limit = (label: string) => line(label, palette.red, { borderDash: [6, 4], borderWidth: 1.5, tension: 0 });

function makeChart(id: string, datasets: ChartDataset<'line'>[], max?: number): Chart<'line'> {
  return new Chart<'line'>(byId<HTMLCanvasElement>(`chart-${id}`), {
    type: 'line',
    data: { labels: [], datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxTicksLimit: 6, maxRotation: 0, color: '#667085' }, grid: { display: false } },
        y: { beginAtZero: true, suggestedMax: max, ticks: { color: '#667085', maxTicksLimit: 6 }, grid: { color: '#eef1f5' } },
      },
      plugins: { legend: { labels: { boxWidth: 12, boxHeight: 2, color: '#1d2330' } } },
    },
  });
}

/** Each chart: its datasets and how to read each dataset's value from a sample. */
const charts: Array<{ chart: Chart<'line'>; values: Array<(s: Sample) => number | null> }> = [
  {
    chart: makeChart('cpu', [line('process', palette.blue, { fill: true }), line('system', palette.teal), limit('alert')], 100),
    values: [(s) => s.cpu.process, (s) => s.cpu.system, () => thresholds?.cpuPercent ?? null],
  },
  {
    chart: makeChart('memory', [line('RSS', palette.purple, { fill: true }), line('heap used', palette.blue), line('heap total', palette.grey), limit('RSS alert')]),
    values: [(s) => mb(s.memory.rss), (s) => mb(s.memory.heapUsed), (s) => mb(s.memory.heapTotal), () => (near.rss ? thresholds!.rssMb : null)],
  },
  {
    chart: makeChart('lag', [line('p99', palette.orange, { fill: true }), line('mean', palette.blue), line('max', palette.grey), limit('alert')]),
    values: [(s) => s.lag.p99Ms, (s) => s.lag.meanMs, (s) => s.lag.maxMs, () => (near.lag ? thresholds!.lagMs : null)],
  },
  {
    chart: makeChart('rate', [line('in', palette.blue, { fill: true }), line('out', palette.teal)]),
    values: [(s) => s.rates.messagesIn, (s) => s.rates.messagesOut],
  },
  {
    chart: makeChart('conns', [line('connections', palette.purple, { stepped: true }), line('channels', palette.orange, { stepped: true })]),
    values: [(s) => s.connections, (s) => s.channels],
  },
];

function mb(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}
const clock = (t: number) => new Date(t).toLocaleTimeString([], { hour12: false });

function redraw(): void {
  const labels = samples.map((s) => clock(s.time));
  near.rss = thresholds !== undefined && Math.max(...samples.map((s) => mb(s.memory.rss))) >= thresholds.rssMb * 0.4;
  near.lag = thresholds !== undefined && Math.max(...samples.map((s) => s.lag.maxMs)) >= thresholds.lagMs * 0.4;
  for (const { chart, values } of charts) {
    chart.data.labels = labels;
    chart.data.datasets.forEach((ds, i) => (ds.data = samples.map(values[i]!)));
    chart.update('none');
  }
  const s = samples.at(-1);
  if (s) renderLatest(s);
}

function setKpi(id: string, value: string, sub: string, alert = false): void {
  const el = byId(`kpi-${id}`);
  el.querySelector('[data-value]')!.textContent = value;
  el.querySelector('[data-sub]')!.textContent = sub;
  el.classList.toggle('alert', alert);
}

function renderLatest(s: Sample): void {
  const firing = new Set(s.alerts.map((a) => a.metric));
  setKpi('cpu', `${s.cpu.process.toFixed(1)} %`, `system ${s.cpu.system.toFixed(1)} % · ${s.cpu.cores} cores`, firing.has('cpu'));
  setKpi('rss', `${mb(s.memory.rss).toFixed(1)} MiB`, `heap ${mb(s.memory.heapUsed).toFixed(1)} / ${mb(s.memory.heapTotal).toFixed(1)} MiB`, firing.has('rss'));
  setKpi('lag', `${s.lag.p99Ms.toFixed(1)} ms`, `mean ${s.lag.meanMs.toFixed(1)} · max ${s.lag.maxMs.toFixed(1)} ms`, firing.has('lag'));
  setKpi('conns', String(s.connections), `channels ${s.channels}`);
  setKpi('rate', `${Math.round(s.rates.messagesIn + s.rates.messagesOut)}`, `in ${s.rates.messagesIn} · out ${s.rates.messagesOut}`);
  setKpi('free', `${(s.memory.systemFree / 1024 ** 3).toFixed(1)} GiB`, `of ${(s.memory.systemTotal / 1024 ** 3).toFixed(1)} GiB`);
  byId('node').textContent = s.node;
  lastEl.textContent = `last sample ${clock(s.time)}`;
  // Alerts come computed in the sample: every viewer shows the same ones. Rendered as text.
  alertsEl.replaceChildren(
    ...s.alerts.map((a) => {
      const div = document.createElement('div');
      div.className = 'monitor-alert';
      div.dataset.metric = a.metric;
      div.textContent = `⚠ ${a.message}`;
      return div;
    }),
  );
  alertsEl.hidden = s.alerts.length === 0;
}

/** Adds samples (from history or live), keeping them ordered, unique by time and bounded. */
function merge(incoming: Sample[]): void {
  const byTime = new Map(samples.map((s) => [s.time, s]));
  for (const s of incoming) byTime.set(s.time, s);
  samples = [...byTime.values()].sort((a, b) => a.time - b.time).slice(-maxPoints);
  redraw();
}

function setStatus(text: string, state: 'ok' | 'warn' | 'bad'): void {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

/** The node whose samples are shown (each node samples itself). */
let shownNode: string | undefined;

const connection = connectionUi({ status: statusEl, root, socket: () => socket, show: (state, text) => setStatus(text, state === 'closed' ? 'bad' : 'warn') });
const socket = new Socket<MonitorProtocol>({
  url: '/examples/monitor/socket',
  // Every (re)connect: fetch the history, so a late joiner (or a tab back from an outage) draws at once.
  onOpen: async () => {
    connection.opened();
    setStatus('connected', 'ok');
    try {
      const hello = await socket.request('', 'hello', {});
      thresholds = hello.thresholds;
      // The legend names each alert line with its limit, even while the line is off the chart.
      charts[0]!.chart.data.datasets[2]!.label = `alert ≥ ${thresholds.cpuPercent} %`;
      charts[1]!.chart.data.datasets[3]!.label = `alert ≥ ${thresholds.rssMb} MiB`;
      charts[2]!.chart.data.datasets[3]!.label = `alert ≥ ${thresholds.lagMs} ms`;
      maxPoints = hello.historySize;
      // Another node (or another process under a random NODE_ID): its samples, not a mix of two machines'.
      if (shownNode !== undefined && shownNode !== hello.node) samples = samples.filter((x) => x.time > (hello.history.at(-1)?.time ?? Infinity));
      shownNode = hello.node;
      byId('node').textContent = hello.node;
      merge(hello.history);
      root.dataset.history = String(hello.history.length);
    } catch (e) {
      setStatus(`hello failed: ${(e as Error).message}`, 'bad');
    }
  },
  onClose: (code, reason, retryInMs) => connection.closed(code, reason, retryInMs),
  onMessage: (frame) => {
    if (showNotice(frame) || frame.cmd !== 'sample') return;
    received++;
    root.dataset.samples = String(received);
    merge([frame.param]);
  },
  onError: (service, error) => console.warn(`monitor ${service}: ${error}`),
});
