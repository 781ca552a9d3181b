/**
 * The measurements behind docs/scaling.md: `npm run bench:capacity` (about 2 minutes), prints a
 * markdown summary and the JSON of every run.
 *
 * 1. Nodes. Two wsforge nodes (bench/servers/wsforge.ts: the app `npm start` runs, with REDIS_URL)
 *    on a redis-server started here, driven by the benchmark's load generator (bench/load.ts) on
 *    the example route as it ships (presence on, history on). Channels of 100 and of 10: each
 *    channel's publisher on node A, its other members on node B, so A shows what publishing costs
 *    and B what receiving a channel frame from Redis and writing it to its members costs. Around
 *    the joins, the publishes and the leaves: Redis's commands, bytes, memory and CPU.
 * 2. One Redis shard, driven directly through the broker (createRedisEngine, as
 *    test/cluster/engines.ts builds engines): Redis's main-thread CPU per publish with 1 and 8
 *    subscribing nodes, with history and without.
 * 3. Reaping a dead node's presence, in script calls of CLUSTER_REAP_BATCH entries: Redis's CPU per
 *    user reaped, and its longest call (Redis runs nothing else during one).
 * 4. The model of docs/scaling.md computed from those, with the arithmetic.
 *
 * The machine is shared, so CPU is CPU time (each node's process.cpuUsage(), Redis's INFO cpu),
 * not wall time; every measurement runs 3 times and the median is kept.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { connectRedis, createRedisEngine } from '../server/cluster/cluster';
import { clusterReapBatchDefault } from '../server/config';
import { Keys } from '../server/cluster/keys';
import { EngineBus } from '../server/socket/bus';
import { RecordingDelivery } from '../test/cluster/engines';
import { RedisServer } from '../test/cluster/processes';
import { closeTopology, loadCounters, measureConnect, measureRound, median, serverCpuUs, startLoad, startServer, waitForConnections, waitQuiet, type LoadProcess, type ServerProcess } from './lib/drive';
import { repoRoot } from './lib/ipc';
import { redisDelta, redisSample, type RedisDelta } from './lib/redis-stats';

const runs = 3;
const payloadBytes = 256;
/** Connections per channel size in the node runs (channels of 100: 20 of them; of 10: 200). */
const connections = 2000;
const publishesOf: Record<number, number> = { 100: 4000, 10: 8000 };
const shardPublishes = 20_000;
const shardChannels = 100;
const reapChannels = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load1 = () => os.loadavg()[0]!.toFixed(2);

// ---------------------------------------------------------------- 1. nodes

interface Per {
  commands: number;
  clientCommands: number;
  netInBytes: number;
  netOutBytes: number;
  redisCpuUs: number;
  usedMemory: number;
}
/** Redis's main-thread CPU per second while idle (its timers, the heartbeats): taken out of each phase. */
let idleCpuUsPerSecond = 0;
/** What `d`, a phase of `wallMs`, cost per one of its `n` operations. */
const per = (d: RedisDelta, n: number, wallMs: number): Per => ({
  commands: d.commands / n,
  clientCommands: d.clientCommands / n,
  netInBytes: d.netInBytes / n,
  netOutBytes: d.netOutBytes / n,
  redisCpuUs: (d.cpuUs - (idleCpuUsPerSecond * wallMs) / 1000) / n,
  usedMemory: d.usedMemory / n,
});

interface NodeRun {
  size: number;
  joins: number;
  perJoin: Per;
  joinCalls: Record<string, number>;
  /** Node B's CPU per connection it admitted (handshake, join, presence), µs. */
  nodeCpuUsPerJoin: number;
  /** presence-diff frames the members received per join while the channels filled (100 handshakes in flight). */
  presenceFramesPerJoin: number;
  /** Channel frames published: the XADDs of the publish script (the barrier's probes included). */
  publishes: number;
  perPublish: Per;
  publishCalls: Record<string, number>;
  /** Node A: the frame in from its client, published, back from Redis and written to the publisher. */
  originCpuUsPerPublish: number;
  /** Node B: the frame from Redis written to its size − 1 members. */
  receiveCpuUsPerPublish: number;
  perLeave: Per;
  leaveCalls: Record<string, number>;
}

/** One node run: channels of `size`, publisher on A, the other members on B; joins, publishes, leaves. */
async function nodeRun(run: number, size: number, a: ServerProcess, b: ServerProcess, load: LoadProcess, admin: Redis): Promise<NodeRun> {
  const groups = connections / size;
  const prefix = `r${run}s${size}-`;
  const members = { key: `members-${prefix}`, load };
  const publishers = { key: `publishers-${prefix}`, load };
  const common = { kind: 'wsforge' as const, route: 'example' as const, groups, concurrency: 100, timeoutMs: 60_000, prefix };

  const j0 = await redisSample(admin);
  const jt = performance.now();
  const joined = await measureConnect(load, b, { ...common, key: members.key, perGroup: size - 1, publishersPerGroup: 0 });
  await measureConnect(load, a, { ...common, key: publishers.key, perGroup: 1, publishersPerGroup: 1 });
  // Presence announcements are part of what a join costs: wait until they are over.
  await waitQuiet([members, publishers], 500, 20_000);
  const j1 = await redisSample(admin);
  const joinMs = performance.now() - jt;
  const presenceFrames = (await Promise.all([members, publishers].map(async (t) => (await loadCounters(load, t.key)).setupKinds['presence-diff'] ?? 0))).reduce((x, y) => x + y);

  // measureRound drains the topology first (barrier probes, counted as publishes through XADD).
  const chat0 = (await loadCounters(load, members.key)).setupKinds.chat ?? 0;
  const [a0, b0] = await Promise.all([serverCpuUs(a), serverCpuUs(b)]);
  const p0 = await redisSample(admin);
  const pt = performance.now();
  const round = await measureRound(load, a, { key: publishers.key, messages: publishesOf[size]!, windowDeliveries: 2 * groups, payloadBytes, capMs: 30_000, drainMs: 20_000 });
  // B's members count the round's frames as frames outside a round of theirs: wait until all are in.
  const expected = round.sent * (size - 1);
  const until = Date.now() + 30_000;
  let got = 0;
  while ((got = ((await loadCounters(load, members.key)).setupKinds.chat ?? 0) - chat0) < expected && Date.now() < until) await sleep(50);
  if (got !== expected) throw new Error(`node B's members got ${got} of ${expected} frames`);
  const [a1, b1] = await Promise.all([serverCpuUs(a), serverCpuUs(b)]);
  const p1 = await redisSample(admin);
  const publishMs = performance.now() - pt;
  const pd = redisDelta(p0, p1);
  const publishes = pd.calls.xadd ?? 0;

  const l0 = await redisSample(admin);
  const lt = performance.now();
  await closeTopology(load, members.key);
  await closeTopology(load, publishers.key);
  await waitForConnections(a, 0, 30_000);
  await waitForConnections(b, 0, 30_000);
  await sleep(1500); // the leaves' presence announcements (WS_PRESENCE_INTERVAL_MS, 200 ms)
  const l1 = await redisSample(admin);
  const leaveMs = performance.now() - lt;

  const jd = redisDelta(j0, j1);
  const ld = redisDelta(l0, l1);
  return {
    size,
    joins: connections,
    perJoin: per(jd, connections, joinMs),
    joinCalls: jd.calls,
    nodeCpuUsPerJoin: joined.serverCpuUsPerConnection,
    presenceFramesPerJoin: presenceFrames / connections,
    publishes,
    perPublish: per(pd, publishes, publishMs),
    publishCalls: pd.calls,
    originCpuUsPerPublish: (a1 - a0) / publishes,
    receiveCpuUsPerPublish: (b1 - b0) / publishes,
    perLeave: per(ld, connections, leaveMs),
    leaveCalls: ld.calls,
  };
}

// ---------------------------------------------------------------- 2. one shard through the broker

interface ShardRun {
  subscribers: number;
  historySize: number;
  publishes: number;
  perPublish: Per;
  calls: Record<string, number>;
  /** Publishes per second this one driving process reached (a floor: the driver, not Redis, is the limit). */
  wallPerSecond: number;
}

const silent = pino({ level: 'silent' });

/**
 * A publishing node and `subscribers` nodes, each subscribed to every one of `shardChannels`
 * channels, on their own key prefix; `shardPublishes` channel frames of a chat frame's size,
 * in batches of 500 (a PING after each: Redis answers in order), until every subscriber has them all.
 */
async function shardRun(url: string, admin: Redis, tag: string, subscribers: number, historySize: number): Promise<ShardRun> {
  const keys = new Keys(`cap-${tag}:`);
  const history = { size: historySize, ttlMs: 300_000 };
  const nodes = [];
  for (let i = 0; i <= subscribers; i++) {
    const node = `${tag}-${i}`;
    const pub = connectRedis(url, node, 'pub', silent);
    const sub = connectRedis(url, node, 'sub', silent);
    const bus = new EngineBus(createRedisEngine({ node, keys, pub, sub, history, heartbeatMs: 2000, nodeTtlMs: 10_000, logger: silent }));
    const delivery = new RecordingDelivery(node);
    await bus.start(delivery);
    nodes.push({ pub, bus, delivery });
  }
  const channels = Array.from({ length: shardChannels }, (_, i) => `c${i}`);
  const frames = channels.map((channel) => JSON.stringify({ channel, cmd: 'chat', param: { text: 'x'.repeat(payloadBytes) } }));
  const [publisher, ...receivers] = nodes;
  for (const r of receivers) for (const channel of channels) await r.bus.subscribe({ type: 'channel', channel });

  const s0 = await redisSample(admin);
  const t0 = performance.now();
  for (let i = 0; i < shardPublishes; ) {
    for (const end = i + 500; i < end; i++) publisher!.bus.publish({ type: 'channel', channel: channels[i % shardChannels]! }, frames[i % shardChannels]!, []);
    await publisher!.pub.ping();
  }
  const until = Date.now() + 60_000;
  while (receivers.some((r) => r.delivery.delivered.length < shardPublishes) && Date.now() < until) await sleep(10);
  const wallMs = performance.now() - t0;
  const s1 = await redisSample(admin);
  const missing = receivers.map((r) => shardPublishes - r.delivery.delivered.length).filter((n) => n !== 0);
  for (const n of nodes) await n.bus.close();
  if (missing.length) throw new Error(`shard run ${tag}: subscribers missed ${missing.join(', ')} frames`);
  const d = redisDelta(s0, s1);
  return { subscribers, historySize, publishes: shardPublishes, perPublish: per(d, shardPublishes, wallMs), calls: d.calls, wallPerSecond: (shardPublishes / wallMs) * 1000 };
}

// ---------------------------------------------------------------- 3. reaping a dead node's presence

interface ReapRun {
  users: number;
  redisCpuUs: number;
  wallMs: number;
  /** Script calls of the reap, and the longest (Redis's own timing, from its slow log). */
  calls: number;
  longestCallUs: number;
}

/**
 * A dead node's presence is removed by a script (wsfReap) called until it is all out; Redis runs each
 * call atomically: no other command runs meanwhile. `reapChannels` channels of 100 users, node A
 * holding `perChannel` of each (as when a channel's members are spread over many nodes) and node B
 * the rest; then B reaps A.
 */
async function reapRun(url: string, admin: Redis, tag: string, perChannel: number): Promise<ReapRun> {
  const keys = new Keys(`cap-${tag}:`);
  const [a, b] = ['A', 'B'].map((id) => {
    const node = `${tag}-${id}`;
    const pub = connectRedis(url, node, 'pub', silent);
    const sub = connectRedis(url, node, 'sub', silent);
    return { pub, sub, engine: createRedisEngine({ node, keys, pub, sub, history: { size: 100, ttlMs: 300_000 }, heartbeatMs: 2000, nodeTtlMs: 10_000, logger: silent }) };
  });
  for (let c = 0; c < reapChannels; c++) {
    const users = Array.from({ length: 100 }, (_, i) => ({ id: `u${c}-${i}`, name: `user ${c}-${i}` }));
    await Promise.all(users.map((u, i) => (i < perChannel ? a! : b!).engine.presence.join(`c${c}`, u)));
  }
  // A's last heartbeat long ago: a reap takes out only a node the list holds as dead.
  await admin.zadd(keys.nodes(), 0, `${tag}-A`);
  // Every command into the slow log, which times each script call.
  await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '100000');
  await admin.slowlog('RESET');
  const s0 = await redisSample(admin);
  const t0 = performance.now();
  const gone = await b!.engine.presence.reap(`${tag}-A`);
  const wallMs = performance.now() - t0;
  const s1 = await redisSample(admin);
  const slow = (await admin.slowlog('GET', -1)) as Array<[number, number, number, string[]]>;
  await admin.config('SET', 'slowlog-log-slower-than', '10000', 'slowlog-max-len', '128');
  const calls = slow.filter((e) => /^eval/i.test(String(e[3][0]))).map((e) => e[2]);
  for (const n of [a!, b!]) for (const r of [n.pub, n.sub]) r.disconnect();
  if (gone.length !== reapChannels * perChannel) throw new Error(`reap ${tag}: ${gone.length} users gone, expected ${reapChannels * perChannel}`);
  return { users: gone.length, redisCpuUs: redisDelta(s0, s1).cpuUs, wallMs, calls: calls.length, longestCallUs: Math.max(...calls) };
}

// ---------------------------------------------------------------- main

const startedAt = new Date().toISOString();
const loadAt: Record<string, string> = { start: load1() };
const redis = await RedisServer.start();
const admin = new Redis(redis.url);
const env = {
  REDIS_URL: redis.url,
  // One publisher sends hundreds of frames a second, and all connections come from 127.0.0.1 (as in bench/run.ts).
  WS_RATE_LIMIT_PER_SECOND: '1000000',
  WS_RATE_LIMIT_BURST: '1000000',
  WS_MAX_CONNECTIONS_PER_IP: '100000',
};
const a = await startServer('wsforge', { env: { ...env, NODE_ID: 'A' } });
const b = await startServer('wsforge', { env: { ...env, NODE_ID: 'B' } });
const load = await startLoad();

// Redis with two idle nodes: their heartbeats, and Redis's own timers.
const i0 = await redisSample(admin);
await sleep(6000);
const idle = redisDelta(i0, await redisSample(admin));
const idleCommandsPerNodeSecond = idle.commands / 2 / 6;
idleCpuUsPerSecond = idle.cpuUs / 6;

const nodeRuns: NodeRun[] = [];
for (let run = 0; run <= runs; run++) {
  for (const size of [100, 10]) {
    const r = await nodeRun(run, size, a, b, load, admin);
    // Run 0 warms both nodes up (JIT, lazy init) and is not kept.
    if (run > 0) nodeRuns.push(r);
    console.error(`node run ${run} channels of ${size}: origin ${r.originCpuUsPerPublish.toFixed(1)} µs, receive ${r.receiveCpuUsPerPublish.toFixed(1)} µs per publish; Redis ${r.perPublish.redisCpuUs.toFixed(1)} µs per publish, ${r.perJoin.redisCpuUs.toFixed(1)} µs per join${run === 0 ? ' (warm-up)' : ''}`);
  }
}
loadAt.nodes = load1();
await Promise.all([a.stop(), b.stop(), load.stop()]);

const shardRuns: ShardRun[] = [];
const shardCases = [
  { subscribers: 1, historySize: 100 },
  { subscribers: 8, historySize: 100 },
  { subscribers: 1, historySize: 0 },
];
for (let run = 1; run <= runs; run++) {
  for (const c of shardCases) {
    const r = await shardRun(redis.url, admin, `s${run}n${c.subscribers}h${c.historySize}`, c.subscribers, c.historySize);
    shardRuns.push(r);
    console.error(`shard run ${run}, ${c.subscribers} subscriber(s), history ${c.historySize}: ${r.perPublish.redisCpuUs.toFixed(2)} µs Redis CPU per publish, ${r.wallPerSecond.toFixed(0)} publishes/s`);
  }
}
const reapRuns: ReapRun[] = [];
for (let run = 1; run <= runs; run++) {
  const r = await reapRun(redis.url, admin, `reap${run}`, 4);
  reapRuns.push(r);
  console.error(`reap run ${run}: ${r.users} users, ${(r.redisCpuUs / r.users).toFixed(1)} µs Redis CPU each, ${r.calls} calls, the longest ${(r.longestCallUs / 1000).toFixed(2)} ms, ${r.wallMs.toFixed(0)} ms`);
}
loadAt.end = load1();
const redisVersion = ((await admin.call('INFO', 'server')) as string).match(/redis_version:(\S+)/)?.[1];
admin.disconnect();
await redis.kill();

// ---------------------------------------------------------------- summary

const med = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
const nodeOf = (size: number) => nodeRuns.filter((r) => r.size === size);
const medPer = (xs: Per[]): Per => ({
  commands: med(xs, (x) => x.commands),
  clientCommands: med(xs, (x) => x.clientCommands),
  netInBytes: med(xs, (x) => x.netInBytes),
  netOutBytes: med(xs, (x) => x.netOutBytes),
  redisCpuUs: med(xs, (x) => x.redisCpuUs),
  usedMemory: med(xs, (x) => x.usedMemory),
});
const n100 = nodeOf(100);
const n10 = nodeOf(10);
const shardOf = (subscribers: number, historySize: number) => shardRuns.filter((r) => r.subscribers === subscribers && r.historySize === historySize);

// Node B's receive cost at 99 and 9 members: a fixed part per frame from Redis and a part per member.
const recv99 = med(n100, (r) => r.receiveCpuUsPerPublish);
const recv9 = med(n10, (r) => r.receiveCpuUsPerPublish);
const perDelivery = (recv99 - recv9) / 90;
const perReceived = recv9 - 9 * perDelivery;
const origin = med(n100, (r) => r.originCpuUsPerPublish);
// A's cost is its client's frame in and published, plus receiving and writing it to one member.
const ingress = origin - perReceived - perDelivery;

const shard1 = medPer(shardOf(1, 100).map((r) => r.perPublish));
const shard8 = medPer(shardOf(8, 100).map((r) => r.perPublish));
const redisPerSubscriber = (shard8.redisCpuUs - shard1.redisCpuUs) / 7;
const redisBase = shard1.redisCpuUs - redisPerSubscriber;
const bytesPerSubscriber = (shard8.netOutBytes - shard1.netOutBytes) / 7;

// Figures of the full benchmark run (memory engine; bench/results.md) for what this does not measure.
const bench = JSON.parse(readFileSync(`${repoRoot}bench/results.json`, 'utf8')) as {
  meta: { date: string; machine: string };
  table: Array<{ scenario: string; metric: string; values: Record<string, number> }>;
};
const benchValue = (scenario: string, metric: string) => bench.table.find((r) => r.scenario.startsWith(scenario) && r.metric === metric)?.values.wsforge ?? NaN;
const fromBench = {
  rssBytesPerConnection: benchValue('(f)', 'RSS bytes per connection'),
  heapBytesPerConnection: benchValue('(f)', 'JS heap bytes per connection'),
  connectPerSecond: benchValue('(f)', 'connections per second (fill)'),
  cpuUsPerConnection: benchValue('(f)', 'server CPU µs per admitted connection'),
  fanoutDeliveriesPerSecond: benchValue('(a) fan-out, 64 in flight', 'deliveries per second'),
  fanoutCpuUsPerDelivery: benchValue('(a) fan-out, 64 in flight', 'server CPU µs per delivery'),
};

// ---------------------------------------------------------------- 4. the model

/**
 * 1,000,000 connections, 10,000 publishes a second into channels of 100; nodes and shards run at
 * most half busy (headroom for a node's connections moving to the others, bursts, GC).
 */
const target = { connections: 1_000_000, publishes: 10_000, channelSize: 100, budget: 0.5 };
/** Nodes that hold members of a channel of `n` whose members a round-robin balancer spread over `k` nodes. */
const nodesPerChannel = (k: number, n: number) => k * (1 - (1 - 1 / k) ** n);
/** CPU a node spends each second (µs) in a cluster of k nodes: its share of ingress, every frame it receives, its deliveries. */
const nodeCpu = (k: number) => {
  const { publishes: p, channelSize: n } = target;
  return (p / k) * ingress + ((p * nodesPerChannel(k, n)) / k) * perReceived + ((p * n) / k) * perDelivery;
};
/** While K is well below the channel size each node receives nearly every publish (m ≈ K): up to this much CPU, however many nodes. */
const receiveFloor = (target.publishes * perReceived) / 1e6;
let nodes = 1;
while (nodeCpu(nodes) / 1e6 > target.budget && nodes < 1000) nodes++;
const fits = nodeCpu(nodes) / 1e6 <= target.budget;
const m = nodesPerChannel(nodes, target.channelSize);
// Publishes reach Redis one at a time from the nodes (many nodes, each publishing a little), not
// pipelined as in the shard runs: the nodes' figure (2 subscribing nodes) plus the shard runs' cost
// of each further subscribing node.
const nodePublish = medPer(n100.map((r) => r.perPublish));
const redisCpuPerPublish = nodePublish.redisCpuUs + redisPerSubscriber * (m - 2);
const redisCores = (target.publishes * redisCpuPerPublish) / 1e6;
const shards = Math.ceil(redisCores / target.budget);
const redisOutBytesPerSecond = target.publishes * (nodePublish.netOutBytes + bytesPerSubscriber * (m - 2));
// Channel-affine placement (a balancer that sends a channel's connections to one node): m = 1.
const affineCpu = target.publishes * (ingress + perReceived) + target.publishes * target.channelSize * perDelivery;
const affineNodes = Math.ceil(affineCpu / 1e6 / target.budget);
const affineRedisCores = (target.publishes * (nodePublish.redisCpuUs - redisPerSubscriber)) / 1e6;

const reapUsPerUser = med(reapRuns, (r) => r.redisCpuUs / r.users);
const reapSeconds = ((target.connections / nodes) * reapUsPerUser) / 1e6;

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
/** Calls per operation (those made at least once in 100). */
const callsOf = (c: Record<string, number>, n: number) =>
  Object.entries(c)
    .filter(([, v]) => v / n >= 0.01)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${f(v / n, 2)}`)
    .join(', ');
const last100 = n100[n100.length - 1]!;
const perRow = (label: string, p: Per) => `| ${label} | ${f(p.commands, 2)} | ${f(p.clientCommands, 2)} | ${f(p.netInBytes, 0)} | ${f(p.netOutBytes, 0)} | ${f(p.redisCpuUs, 1)} | ${f(p.usedMemory, 0)} |`;

const md = `# Capacity measurements (bench/capacity.ts)

- ${startedAt}; ${os.cpus()[0]?.model.trim()} × ${os.availableParallelism()} cores, ${f(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; Redis ${redisVersion}
- load average (1 min): ${loadAt.start} at the start, ${loadAt.nodes} after the node runs, ${loadAt.end} at the end
- ${runs} runs of each measurement (after one warm-up run of the nodes), median

## Nodes (2 wsforge nodes, one Redis; example route, presence and history on, ${payloadBytes}-character payload)

| node CPU | µs |
|---|---:|
| publishing node, per publish (frame in, published, back, written to the publisher) | ${f(origin)} |
| receiving node, per publish to 99 members | ${f(recv99)} |
| receiving node, per publish to 9 members | ${f(recv9)} |
| → per frame received from Redis | ${f(perReceived)} |
| → per delivery (write to one member) | ${f(perDelivery, 2)} |
| → ingress (frame in and published) | ${f(ingress)} |
| per connection admitted (handshake, join, presence; channels of 100) | ${f(med(n100, (r) => r.nodeCpuUsPerJoin))} |

| Redis, per … | commands executed | sent by the node | bytes in | bytes out | Redis CPU µs | memory bytes |
|---|---:|---:|---:|---:|---:|---:|
${perRow('publish, channel of 100 on 2 nodes', medPer(n100.map((r) => r.perPublish)))}
${perRow('join, channels of 100', medPer(n100.map((r) => r.perJoin)))}
${perRow('leave, channels of 100', medPer(n100.map((r) => r.perLeave)))}
${perRow('join, channels of 10', medPer(n10.map((r) => r.perJoin)))}

Commands per publish (last run): ${callsOf(last100.publishCalls, last100.publishes)}.
Commands per join (last run): ${callsOf(last100.joinCalls, last100.joins)}.
Commands per leave (last run): ${callsOf(last100.leaveCalls, last100.joins)}.
Idle: ${f(idleCommandsPerNodeSecond, 2)} command per node per second (heartbeat); Redis's main thread busy ${f(idleCpuUsPerSecond, 0)} µs a second (its timers; taken out of every figure above, by each phase's duration).
presence-diff frames received per join while 2,000 joined (100 handshakes in flight): ${f(med(n100, (r) => r.presenceFramesPerJoin), 2)} in channels of 100, ${f(med(n10, (r) => r.presenceFramesPerJoin), 2)} in channels of 10.

## One Redis shard driven through the broker (${shardChannels} channels, ${f(shardPublishes, 0)} publishes a run)

| subscribing nodes | history | Redis CPU µs per publish | commands | bytes in | bytes out | publishes/s (one driving process) |
|---:|---:|---:|---:|---:|---:|---:|
${shardCases.map((c) => { const rs = shardOf(c.subscribers, c.historySize); const p = medPer(rs.map((r) => r.perPublish)); return `| ${c.subscribers} | ${c.historySize} | ${f(p.redisCpuUs, 2)} | ${f(p.commands, 2)} | ${f(p.netInBytes, 0)} | ${f(p.netOutBytes, 0)} | ${f(med(rs, (r) => r.wallPerSecond), 0)} |`; }).join('\n')}

→ Redis CPU per publish ≈ ${f(redisBase, 2)} + ${f(redisPerSubscriber, 2)} × subscribing nodes µs; bytes out ≈ ${f(bytesPerSubscriber, 0)} per subscribing node.
→ one shard at 100 % of its core: ≈ ${f(1e6 / shard1.redisCpuUs, 0)} publishes/s to 1 node, ${f(1e6 / shard8.redisCpuUs, 0)} to 8 nodes.

## Reaping a dead node's presence (${reapChannels} channels of 100, 4 users of each on the dead node)

${f(med(reapRuns, (r) => r.users), 0)} users reaped in ${f(med(reapRuns, (r) => r.calls), 0)} script calls (CLUSTER_REAP_BATCH ${clusterReapBatchDefault}): ${f(med(reapRuns, (r) => r.redisCpuUs) / 1000, 1)} ms of Redis CPU (${f(reapUsPerUser, 1)} µs per user), the longest call ${f(med(reapRuns, (r) => r.longestCallUs) / 1000, 2)} ms, ${f(med(reapRuns, (r) => r.wallMs), 0)} ms in all.

## From bench/results.json (${bench.meta.date}, memory engine)

RSS ${f(fromBench.rssBytesPerConnection, 0)} B and JS heap ${f(fromBench.heapBytesPerConnection, 0)} B per idle connection; ${f(fromBench.connectPerSecond, 0)} connections/s, ${f(fromBench.cpuUsPerConnection)} µs CPU per connection (19,000 in one channel); fan-out 64 in flight ${f(fromBench.fanoutDeliveriesPerSecond, 0)} deliveries/s at ${f(fromBench.fanoutCpuUsPerDelivery, 2)} µs each.

## Model: ${f(target.connections, 0)} connections, ${f(target.publishes, 0)} publishes/s into channels of ${target.channelSize}, nodes and shards at most ${target.budget * 100} % busy

node CPU/s = P/K × ingress + P × m(K)/K × received + P × ${target.channelSize}/K × delivery, m(K) = K × (1 − (1 − 1/K)^${target.channelSize})
${fits ? '' : `NO node count up to 1,000 keeps a node within ${target.budget * 100} %. `}K = ${nodes}: m = ${f(m, 2)}; ${f(target.publishes / nodes, 0)} × ${f(ingress)} + ${f((target.publishes * m) / nodes, 0)} × ${f(perReceived)} + ${f((target.publishes * target.channelSize) / nodes, 0)} × ${f(perDelivery, 2)} = ${f(nodeCpu(nodes) / 1e6, 2)} core (K = ${nodes - 1}: ${f(nodeCpu(Math.max(1, nodes - 1)) / 1e6, 2)})
connections per node: ${f(target.connections / nodes, 0)}, RSS ≈ ${f(((target.connections / nodes) * fromBench.rssBytesPerConnection) / 2 ** 20, 0)} MiB
receiving while K ≪ ${target.channelSize} (m ≈ K, every node gets nearly every publish): up to P × received = ${f(receiveFloor, 2)} core per node
node CPU by K: ${[5, 10, 20, 40, 80, 160].map((k) => `${k} → ${f(nodeCpu(k) / 1e6, 2)}`).join(', ')} core
Redis CPU per publish to ${f(m, 2)} nodes: ${f(nodePublish.redisCpuUs, 2)} (from the nodes, to 2) + ${f(redisPerSubscriber, 2)} × (${f(m, 2)} − 2) = ${f(redisCpuPerPublish, 2)} µs; × ${f(target.publishes, 0)}/s = ${f(redisCores, 2)} core → ${shards} shard(s) at ${target.budget * 100} %
Redis bytes out: ${f(redisOutBytesPerSecond / 1e6)} MB/s
a dead node's ${f(target.connections / nodes, 0)} users reaped: ${f(target.connections / nodes, 0)} × ${f(reapUsPerUser, 1)} µs = ${f(reapSeconds, 2)} s of that Redis's CPU, in calls of at most ${f(med(reapRuns, (r) => r.longestCallUs) / 1000, 2)} ms
channel-affine placement (m = 1): ${f(target.publishes, 0)} × (${f(ingress)} + ${f(perReceived)}) + ${f(target.publishes * target.channelSize, 0)} × ${f(perDelivery, 2)} = ${f(affineCpu / 1e6, 2)} core → ${affineNodes} nodes at ${target.budget * 100} %; Redis ${f(target.publishes, 0)} × ${f(nodePublish.redisCpuUs - redisPerSubscriber, 2)} µs = ${f(affineRedisCores, 2)} core
`;

console.log(md);
console.log('```json');
console.log(JSON.stringify({ startedAt, loadAt, redisVersion, idleCommandsPerNodeSecond, idleCpuUsPerSecond, nodeRuns, shardRuns, reapRuns, fromBench, derived: { ingress, perReceived, perDelivery, redisBase, redisPerSubscriber, bytesPerSubscriber, receiveFloor, nodes, fits, m, redisCpuPerPublish, shards, affineNodes, affineRedisCores, reapUsPerUser, reapSeconds } }, null, 1));
console.log('```');
process.exit(0);
