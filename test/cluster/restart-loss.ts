/**
 * The figures of docs/cluster.md ("Redis restarts"): a real Redis restarted mid-stream under three
 * node processes (2 subscribers each) and an in-process publishing node, at several rates.
 *
 *   node build.mjs && npx tsx test/cluster/restart-loss.ts [runs=3] [rates=50,100,500] [downMs=1000] [historySize=100]
 *
 * Prints one line per run (test/cluster/restart.ts says what is checked) and exits 1 when a run
 * lost a frame that history still held.
 */
import { closeAll, eventually, startApp, type TestApp } from '../helpers';
import { RecordingSocket } from './clients';
import { killAll, NodeProcess, RedisServer } from './processes';
import { describeRestart, restartMidStream, type RestartResult } from './restart';

const [runsArg, ratesArg, downArg, sizeArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const rates = (ratesArg ?? '50,100,500').split(',').map(Number);
const downMs = Number(downArg ?? 1000);
const historySize = Number(sizeArg ?? 100);
const secret = 'restart-loss-session-secret-0123456789';
const prefix = 'rl:';
const env = { SESSION_SECRET: secret, CLUSTER_HEARTBEAT_MS: '200', CLUSTER_NODE_TTL_MS: '1500', REDIS_PREFIX: prefix, WS_HISTORY_SIZE: String(historySize) };

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const nodes = await Promise.all(['l1', 'l2', 'l3'].map((nodeId) => NodeProcess.start({ nodeId, redisUrl: redis.url, env })));
  const publisher: TestApp = await startApp({
    nodeId: 'l0',
    sessionSecret: secret,
    cluster: { redisUrl: redis.url, prefix, heartbeatMs: 200, nodeTtlMs: 1500 },
    socket: { historySize },
  });
  const results: RestartResult[] = [];
  let failed = false;
  try {
    for (const rate of rates) {
      for (let run = 1; run <= runs; run++) {
        const channel = `loss${rate}x${run}`;
        const subscribers = [...nodes, ...nodes].map((n) => ({ node: n.id, socket: new RecordingSocket(n.url(`/example/socket?ch=${channel}`)) }));
        for (const s of subscribers) {
          await eventually(() => {
            if (s.socket.opens !== 1) throw new Error('not open yet');
          }, 5000);
        }
        await Promise.all(subscribers.map((s) => s.socket.socket.presence(channel)));
        const sockets = publisher.app.sockets!;
        const r = await restartMidStream({
          redis,
          subscribers,
          channel,
          publish: (n) => sockets.writeChannel({ channel, cmd: 'chat', param: { text: `m${n}` } }),
          rate,
          killAfter: Math.round(rate / 2),
          downMs,
          total: Math.round(rate * 4.5),
          historySize,
        });
        for (const s of subscribers) s.socket.close();
        results.push(r);
        failed ||= r.violations.length > 0;
        console.log(`run ${run}: ${describeRestart(r)}`);
        // Let every node settle (heartbeats, presence written back) before the next run.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
  } finally {
    await closeAll();
    killAll();
  }
  console.log('\nrate  history  down(ms)  sent while down  worst lost (new epoch)  worst really gone  violations');
  for (const r of results) {
    const worst = Math.max(...r.subscribers.map((s) => s.lostNew));
    const gone = Math.max(...r.subscribers.map((s) => s.gone));
    console.log(`${String(r.rate).padEnd(6)}${String(r.historySize).padEnd(9)}${String(r.downMs).padEnd(10)}${String(r.sentWhileDown).padEnd(17)}${String(worst).padEnd(24)}${String(gone).padEnd(19)}${r.violations.length}`);
  }
  process.exit(failed ? 1 : 0);
}

void main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(2);
});
