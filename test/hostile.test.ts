/**
 * Hostile-input suite (issue 5): many clients send well over 10,000 generated hostile frames at
 * one in-process server while a well-behaved client runs a request/reply loop the whole time.
 *
 * Most JSON-level categories go to /h/hostile, whose per-route rate limit is high enough that
 * every frame reaches the parser and validator (so each gets its own documented error code);
 * rate-limit abuse goes to /h/limited (the default 50/s, burst 100) and the built-in
 * /example/socket gets a short sequence under its default limit. The well-behaved client uses
 * /h/good (1000/s). Raw protocol abuse (invalid UTF-8, fragments, oversized and malformed frames,
 * pings) is written byte by byte over TCP (raw-socket.ts).
 *
 * Asserted: nothing crashes (no global handler is installed: an uncaught exception would fail
 * this test through mocha's own handler, and the server still serves afterwards); every hostile
 * frame gets exactly its documented answer (error code, reply, or close code), counted per
 * category; the well-behaved client sees no error and its p99 round trip stays below 250 ms;
 * afterwards connections, channels, per-address slots and TCP sockets are back to the baseline,
 * Object.prototype is untouched and heap growth (after a real GC) is bounded.
 * The numbers are printed at the end.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { z } from 'zod';
import type { CloseInfo } from '../server/socket/session';
import type { Feature } from '../server/features/feature';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import type { SocketService } from '../server/socket/service';
import { closeAll, connect, eventually, rng, sleep, startApp, type TestApp, type TestClient } from './helpers';
import { Opcode, RawSocket, encodeFrame } from './raw-socket';

const maxPayload = 64 * 1024;
const pingIntervalMs = 1000;

const hostileProtocol = defineProtocol({
  client: {
    echo: z.object({ text: z.string() }),
  },
  server: {},
});

function hostileFeature(): Feature {
  const handler = defineHandler(hostileProtocol, {
    echo: (_svc, _conn, { text }) => ({ length: text.length, head: text.slice(0, 16) }),
  });
  const resolve = (_req: unknown, url: URL) => ({ channel: url.searchParams.get('ch') ?? 'hostile', handler });
  return ({ sockets }) => {
    sockets?.route('/h/hostile', resolve, { anonymous: true, authorize: () => true, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } });
    sockets?.route('/h/limited', resolve, { anonymous: true });
    sockets?.route('/h/good', resolve, { anonymous: true, authorize: () => true, rateLimit: { perSecond: 1000, burst: 1000 } });
  };
}

/** A real collection, also without --expose-gc (the flag can be turned on at run time for a new context). */
function collector(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const random = rng(5);
const int = (n: number) => Math.floor(random() * n);
const word = (n: number) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[int(36)]).join('');

/** One hostile frame and the answer it must get: an error code, or 'reply'. */
interface Case {
  data: string | Buffer;
  expect: string;
}

/** What one category sent and got. */
interface Tally {
  category: string;
  frames: number;
  /** outcome (error code, 'reply', 'close <code>', 'pong'…) → count */
  seen: Map<string, number>;
  mismatches: string[];
}

const tallies: Tally[] = [];
function tally(category: string): Tally {
  const t: Tally = { category, frames: 0, seen: new Map(), mismatches: [] };
  tallies.push(t);
  return t;
}
const count = (t: Tally, outcome: string, n = 1) => t.seen.set(outcome, (t.seen.get(outcome) ?? 0) + n);
const answers = (c: TestClient) => c.frames.filter((f) => f.cmd === 'reply' || f.cmd === 'error');

// ---------------------------------------------------------------------------------------------
// Generators of JSON-level cases (all for /h/hostile unless said otherwise)

const echo = (text: string, ref: number | string) => JSON.stringify({ cmd: 'echo', param: { text }, ref });

function malformedJson(n: number): Case[] {
  const fixed = ['', ' ', 'undefined', 'NaN', "{'cmd':'echo'}", '{"cmd":"echo",}', '{"cmd":"echo"}}', '\uFEFF{"cmd":"echo"}', '{"cmd":"echo" "ref":1}', '[1,2', '"unterminated', '{"a":1e}', '\u0000', '{"cmd":"echo","param":{"text":"\\x41"}}'];
  return Array.from({ length: n }, (_, i) => {
    if (i < fixed.length) return { data: fixed[i]!, expect: 'invalid_json' };
    if (i % 2 === 0) {
      // A valid frame cut anywhere: no proper prefix of a JSON object is JSON.
      const full = echo(word(1 + int(200)), i);
      return { data: full.slice(0, 1 + int(full.length - 1)), expect: 'invalid_json' };
    }
    // Random printable garbage after `{`, with no `}` to ever close it.
    const garbage = Array.from({ length: 1 + int(300) }, () => String.fromCharCode(32 + int(95))).join('').replaceAll('}', ']');
    return { data: `{${garbage}`, expect: 'invalid_json' };
  });
}

/** Every generated frame must fit WS_MAX_PAYLOAD: the oversized ones are a category of their own. */
function fits(cases: Case[]): Case[] {
  for (const c of cases) if (Buffer.byteLength(c.data) > maxPayload) throw new Error(`generated frame of ${Buffer.byteLength(c.data)} bytes`);
  return cases;
}

function deepNesting(n: number): Case[] {
  const arrays = (d: number) => '['.repeat(d) + ']'.repeat(d);
  const objects = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
  return fits(Array.from({ length: n }, (_, i) => {
    const d = i === 0 ? 10_000 : 1000 + int(20_000);
    switch (i % 5) {
      case 0:
        return { data: arrays(Math.min(d, 30_000)), expect: 'invalid_frame' };
      case 1:
        return { data: `{"cmd":"echo","param":${arrays(d)},"ref":${i}}`, expect: 'invalid_param' };
      case 2: // unknown fields are ignored however deep
        return { data: `{"cmd":"echo","param":{"text":"deep","x":${objects(Math.min(d, 10_000))}},"ref":${i}}`, expect: 'reply' };
      case 3:
        return { data: `{"cmd":"echo","ref":${arrays(d)}}`, expect: 'invalid_frame' };
      default:
        return { data: `{"cmd":"echo","param":{"text":${objects(Math.min(d, 10_000))}},"ref":${i}}`, expect: 'invalid_param' };
    }
  }));
}

/** Frames near WS_MAX_PAYLOAD (64 KiB), every one at most exactly the limit. */
function huge(n: number): Case[] {
  const sized = (bytes: number, ref: number) => {
    const shell = echo('', ref);
    return echo('a'.repeat(bytes - Buffer.byteLength(shell)), ref);
  };
  return fits(Array.from({ length: n }, (_, i) => {
    const near = maxPayload - 100 - int(4096);
    switch (i % 8) {
      case 0:
        return { data: sized(maxPayload, i), expect: 'reply' }; // exactly at the limit
      case 1:
        return { data: sized(near, i), expect: 'reply' };
      case 2: // two-byte characters, still within the byte limit
        return { data: echo('é'.repeat(Math.floor(near / 2)), i), expect: 'reply' };
      case 3:
        return { data: `{"cmd":"echo","param":{"text":[${Array(Math.floor((near - 60) / 2)).fill(1).join(',')}]},"ref":${i}}`, expect: 'invalid_param' };
      case 4:
        return { data: `{"cmd":"echo","param":[${Array(Math.floor((near - 60) / 2)).fill(0).join(',')}],"ref":${i}}`, expect: 'invalid_param' };
      case 5:
        return { data: JSON.stringify({ cmd: 'x'.repeat(near - 40), ref: i }), expect: 'invalid_frame' };
      case 6:
        return { data: JSON.stringify({ cmd: 'echo', channel: 'c'.repeat(near - 60), param: { text: 'x' }, ref: i }), expect: 'invalid_frame' };
      default: {
        const keys = Object.fromEntries(Array.from({ length: Math.floor(near / 14) }, (_, k) => [`k${k}`, k]));
        return { data: JSON.stringify({ cmd: 'echo', param: keys, ref: i }), expect: 'invalid_param' };
      }
    }
  }));
}

function wrongTypes(n: number): Case[] {
  const long = (k: number) => JSON.stringify('x'.repeat(k));
  const templates: Array<(i: number) => Case> = [
    ...['1', '"str"', 'null', 'true', '[]', '[{"cmd":"echo"}]', '-0', '1e400'].map((v) => () => ({ data: v, expect: 'invalid_frame' })),
    ...['', ',"cmd":1', ',"cmd":1.5', ',"cmd":true', ',"cmd":null', ',"cmd":[]', ',"cmd":{}', ',"cmd":""', `,"cmd":${long(65)}`].map(
      (cmd) => (i: number) => ({ data: `{"param":{"text":"x"},"ref":${i}${cmd}}`, expect: 'invalid_frame' }),
    ),
    ...['1', 'true', '[]', '{}', 'null', long(129)].map((ch) => (i: number) => ({ data: `{"cmd":"echo","channel":${ch},"param":{"text":"x"},"ref":${i}}`, expect: 'invalid_frame' })),
    ...['{}', '[]', 'true', 'null', long(65), '1e400', '-1e400'].map((ref) => () => ({ data: `{"cmd":"echo","param":{"text":"x"},"ref":${ref}}`, expect: 'invalid_frame' })),
    ...['1', '"s"', '[]', 'true', 'null', '{}', '{"text":1}', '{"text":null}', '{"text":[]}', '{"text":{}}', '{"text":true}', '{"txt":"x"}'].map(
      (param) => (i: number) => ({ data: `{"cmd":"echo","param":${param},"ref":${i}}`, expect: 'invalid_param' }),
    ),
    // Odd but valid: answered normally.
    (i) => ({ data: `{"cmd":"echo","param":{"text":"ok"},"ref":${-i - 0.5}}`, expect: 'reply' }),
    (i) => ({ data: `{"cmd":"echo","channel":"","param":{"text":"ok"},"ref":"${'r'.repeat(64)}","extra":${i}}`, expect: 'reply' }),
  ];
  return Array.from({ length: n }, (_, i) => templates[i % templates.length]!(i));
}

function protoKeys(n: number): Case[] {
  const polluting = '{"polluted":"yes","toString":"no"}';
  const templates: Array<(i: number) => Case[]> = [
    (i) => [{ data: `{"__proto__":${polluting},"cmd":"echo","param":{"text":"x"},"ref":${i}}`, expect: 'reply' }],
    (i) => [{ data: `{"cmd":"echo","param":{"text":"x","__proto__":${polluting}},"ref":${i}}`, expect: 'reply' }],
    (i) => [{ data: `{"cmd":"echo","param":{"__proto__":{"text":"inherited?"}},"ref":${i}}`, expect: 'invalid_param' }],
    (i) => [{ data: `{"cmd":"echo","param":{"text":"x","constructor":{"prototype":${polluting}}},"ref":${i}}`, expect: 'reply' }],
    (i) => [{ data: `{"cmd":"echo","param":{"text":"x","prototype":${polluting}},"constructor":{"prototype":${polluting}},"ref":${i}}`, expect: 'reply' }],
    ...['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'].map(
      (cmd) => (i: number) => [{ data: `{"cmd":"${cmd}","param":${polluting},"ref":${i}}`, expect: 'unknown_cmd' }],
    ),
    ...['__proto__', 'constructor', 'prototype'].map((ch) => (i: number) => [{ data: `{"cmd":"echo","channel":"${ch}","param":{"text":"x"},"ref":${i}}`, expect: 'not_member' }]),
    ...['__proto__', 'constructor', 'hasOwnProperty'].map((ch) => (i: number) => [
      { data: `{"cmd":"join","channel":"${ch}","param":{"since":{"__proto__":{"epoch":"x","offset":"1"}}},"ref":${i}}`, expect: 'reply' },
      { data: `{"cmd":"echo","channel":"${ch}","param":{"text":"member now"},"ref":"${i}b"}`, expect: 'reply' },
      { data: `{"cmd":"leave","channel":"${ch}","ref":"${i}c"}`, expect: 'reply' },
    ]),
  ];
  const out: Case[] = [];
  for (let i = 0; out.length < n; i++) out.push(...templates[i % templates.length]!(i));
  return out;
}

function unknown(n: number): Case[] {
  const templates: Array<(i: number) => Case> = [
    (i) => ({ data: JSON.stringify({ cmd: word(1 + int(64)), param: {}, ref: i }), expect: 'unknown_cmd' }),
    (i) => ({ data: JSON.stringify({ cmd: 'ping', ref: i }), expect: 'unknown_cmd' }),
    (i) => ({ data: JSON.stringify({ cmd: 'auth', param: { token: 'x' }, ref: i }), expect: 'unknown_cmd' }),
    (i) => ({ data: JSON.stringify({ cmd: 'echo', channel: word(1 + int(128)), param: { text: 'x' }, ref: i }), expect: 'not_member' }),
    (i) => ({ data: JSON.stringify({ cmd: word(8), channel: `nobody-${i}`, ref: i }), expect: 'not_member' }),
    (i) => ({ data: JSON.stringify({ cmd: 'refresh', param: { token: word(40) }, ref: i }), expect: 'unauthorized' }),
    (i) => ({ data: JSON.stringify({ cmd: 'refresh', ref: i }), expect: 'unauthorized' }),
    (i) => ({ data: JSON.stringify({ cmd: 'leave', channel: `never-joined-${i}`, ref: i }), expect: 'reply' }),
  ];
  return Array.from({ length: n }, (_, i) => templates[i % templates.length]!(i));
}

function channelFlood(client: number, n: number, maxChannels: number): Case[] {
  // The route channel is one of the connection's channels already.
  return Array.from({ length: n }, (_, i) => ({ data: JSON.stringify({ cmd: 'join', channel: `flood-${client}-${i}`, ref: i }), expect: i < maxChannels - 1 ? 'reply' : 'limit_exceeded' }));
}

function binary(n: number): Case[] {
  return Array.from({ length: n }, () => ({ data: Buffer.from(Array.from({ length: int(1000) }, () => int(256))), expect: 'binary_unsupported' }));
}

/** The built-in example route, under its default rate limit (fewer frames than its burst). */
function exampleRoute(n: number): Case[] {
  const templates: Array<(i: number) => Case> = [
    (i) => ({ data: JSON.stringify({ cmd: 'chat', param: { text: '' }, ref: i }), expect: 'invalid_param' }),
    (i) => ({ data: JSON.stringify({ cmd: 'chat', param: { text: 'x'.repeat(2001) }, ref: i }), expect: 'invalid_param' }),
    (i) => ({ data: JSON.stringify({ cmd: 'join-room', param: { room: '../../etc' }, ref: i }), expect: 'invalid_param' }),
    (i) => ({ data: JSON.stringify({ cmd: 'join-room', param: { room: { $gt: '' } }, ref: i }), expect: 'invalid_param' }),
    (i) => ({ data: JSON.stringify({ cmd: 'chat', param: { text: '<script>alert(1)</script>' }, ref: i }), expect: 'reply' }),
    (i) => ({ data: JSON.stringify({ cmd: 'ping', param: [], ref: i }), expect: 'invalid_param' }),
    (i) => ({ data: JSON.stringify({ cmd: 'pong', ref: i }), expect: 'unknown_cmd' }),
    (i) => ({ data: `{"cmd":"chat","param":{"text":"hi"},"ref":${i}`, expect: 'invalid_json' }),
    (i) => ({ data: JSON.stringify({ cmd: 'chat', channel: 'elsewhere', param: { text: 'x' }, ref: i }), expect: 'not_member' }),
  ];
  return Array.from({ length: n }, (_, i) => templates[i % templates.length]!(i));
}

// ---------------------------------------------------------------------------------------------

describe('hostile input', function () {
  this.timeout(60_000);

  let t: TestApp;
  let sockets: SocketService;
  const raws: RawSocket[] = [];
  /** Server-side close of every hostile connection we expect to be closed: category, expected code, what happened. */
  const closes: Array<{ t: Tally; expect: number; closed: Promise<CloseInfo> }> = [];

  after(async () => {
    for (const r of raws) r.destroy();
    await closeAll();
  });

  /** The server-side connection of a client that connected with `?ch=<channel>`. */
  const serverConn = (channel: string) => eventually(() => {
    const conn = sockets.getConnections().find((c) => c.channel === channel);
    expect(conn, `server connection in ${channel}`).to.not.equal(undefined);
    return conn!;
  });

  /** Sends every case on one connection (in batches, yielding to the event loop), then checks each answer in order. */
  async function runCases(cat: Tally, path: string, channel: string, cases: Case[]): Promise<TestClient> {
    const c = await connect(t.url(`${path}?ch=${channel}`));
    for (let i = 0; i < cases.length; i++) {
      c.send(cases[i]!.data);
      if (i % 50 === 49) await yieldToLoop();
    }
    cat.frames += cases.length;
    await eventually(() => expect(answers(c).length).to.be.at.least(cases.length), 30_000, 20);
    const got = answers(c);
    for (let i = 0; i < cases.length; i++) {
      const a = got[i]!;
      const outcome = a.cmd === 'reply' ? 'reply' : (a.param.code as string);
      count(cat, outcome);
      if (outcome !== cases[i]!.expect && cat.mismatches.length < 5) {
        cat.mismatches.push(`#${i} ${String(cases[i]!.data).slice(0, 80)} → ${JSON.stringify(a).slice(0, 200)} (expected ${cases[i]!.expect})`);
      }
    }
    if (got.length !== cases.length) cat.mismatches.push(`${got.length} answers for ${cases.length} frames`);
    return c;
  }

  /** A raw connection to /h/hostile whose server-side close must have code `expect`. */
  async function raw(cat: Tally, channel: string, expectCode: number): Promise<RawSocket> {
    const r = await RawSocket.open(t.port, `/h/hostile?ch=${channel}`);
    raws.push(r);
    closes.push({ t: cat, expect: expectCode, closed: (await serverConn(channel)).closed });
    return r;
  }

  it('survives 10,000+ hostile frames from many clients while a well-behaved client keeps a low p99', async () => {
    const gc = collector();
    const prototypeKeys = () => [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join());
    const cleanPrototypes = prototypeKeys();
    const processListeners = ['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e));

    t = await startApp({ socket: { pingIntervalMs, maxPayload }, features: [hostileFeature()] });
    sockets = t.app.sockets!;
    const maxChannels = t.app.config.socket.maxChannelsPerConnection;
    const tcpConnections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

    // Warm up the paths once, then the baseline.
    const warm = await connect(t.url('/h/hostile?ch=warm'));
    await warm.request('', 'echo', { text: 'warm' });
    warm.send('{');
    warm.send(Buffer.from([1]));
    await warm.close();
    await eventually(() => expect(sockets.counts().connections).to.equal(0));
    gc();
    gc();
    const baseline = { heap: process.memoryUsage().heapUsed, connections: sockets.counts().connections, channels: sockets.counts().channels, tcp: await tcpConnections() };

    // Generated before the storm, so the well-behaved client does not wait on the test's own work.
    let json: Array<[string, string, Case[][]]> = [
      ['malformed / truncated JSON', '/h/hostile', [malformedJson(1000), malformedJson(1000)]],
      ['deep nesting (to 30k levels)', '/h/hostile', [deepNesting(100), deepNesting(100)]],
      ['huge strings / arrays ≤ WS_MAX_PAYLOAD', '/h/hostile', [huge(100), huge(100)]],
      ['wrong types for every field', '/h/hostile', [wrongTypes(1000), wrongTypes(1000)]],
      ['__proto__ / constructor / prototype keys', '/h/hostile', [protoKeys(1000)]],
      ['unknown cmds and channels', '/h/hostile', [unknown(1000), unknown(1000)]],
      ['channel flood (joins past the cap)', '/h/hostile', [channelFlood(1, maxChannels + 20, maxChannels), channelFlood(2, maxChannels + 20, maxChannels)]],
      ['binary frames', '/h/hostile', [binary(500), binary(500)]],
      ['built-in /example/socket', '/example/socket', [exampleRoute(90)]],
    ];
    const fragmentFlood = Buffer.concat([encodeFrame(Opcode.text, ' ', { fin: false }), ...Array.from({ length: 16_384 }, () => encodeFrame(Opcode.continuation, ' ', { fin: false }))]);
    const pingBurst = Buffer.concat(Array.from({ length: 2000 }, () => encodeFrame(Opcode.ping, Buffer.alloc(125, 7))));

    // The well-behaved client: one request at a time, for as long as the storm lasts.
    const good = await connect(t.url('/h/good?ch=good'));
    const rtts: number[] = [];
    let storming = true;
    const loop = (async () => {
      for (let seq = 0; storming || seq < 50; seq++) {
        const text = `seq-${seq}`;
        const started = performance.now();
        const answer = await good.request('', 'echo', { text }, { timeoutMs: 5000 });
        rtts.push(performance.now() - started);
        expect(answer, 'well-behaved answer').to.deep.include({ cmd: 'reply', param: { length: text.length, head: text } });
        await sleep(2);
      }
    })();
    await sleep(100);

    // --- JSON-level categories, each on its own connection, all at once -------------------------
    const jsonClients: TestClient[] = [];
    const jsonRuns = json.flatMap(([name, path, sets]) => {
      const cat = tally(name);
      return sets.map(async (cases, k) => jsonClients.push(await runCases(cat, path, `${name.replace(/\W+/g, '-')}-${k}`.replace(/^-+/, ''), cases)));
    });

    // --- Oversized frames through ws: each closes its connection with 1009 ----------------------
    const oversized = tally('oversized frames (> WS_MAX_PAYLOAD)');
    const oversizedRuns = [maxPayload + 1, maxPayload + 1000, 1024 * 1024].map(async (bytes, k) => {
      const c = await connect(t.url(`/h/hostile?ch=oversized-${k}`));
      closes.push({ t: oversized, expect: 1009, closed: (await serverConn(`oversized-${k}`)).closed });
      c.send(k === 1 ? Buffer.alloc(bytes) : echo('a'.repeat(bytes), k));
      oversized.frames++;
      const info = await c.closed;
      count(oversized, `client saw close ${info.code}`);
    });

    // --- Rate-limit abuse on the default limit (50/s, burst 100): refused, then 1008 ------------
    const flood = tally('flood on the default rate limit');
    const floodRun = (async () => {
      const c = await connect(t.url('/h/limited?ch=flood'));
      closes.push({ t: flood, expect: 1008, closed: (await serverConn('flood')).closed });
      for (let i = 0; i < 2000 && c.isOpen; i++) {
        c.send(echo('x', i));
        flood.frames++;
        if (i % 100 === 99) await yieldToLoop();
      }
      await c.closed;
      for (const a of answers(c)) count(flood, a.cmd === 'reply' ? 'reply' : a.param.code);
      // The burst is handled (plus what refilled meanwhile); then refusals until more than 250 strikes.
      if ((flood.seen.get('reply') ?? 0) < 100 || (flood.seen.get('rate_limited') ?? 0) < 250) flood.mismatches.push(`unexpected ${JSON.stringify([...flood.seen])}`);
      if (answers(c).some((a) => a.cmd === 'error' && a.param.code !== 'rate_limited')) flood.mismatches.push('an error other than rate_limited');
    })();

    // --- Raw protocol abuse: one connection each, the server's close code ------------------------
    const protocol = tally('raw protocol abuse');
    const rawCases: Array<[string, number, (r: RawSocket) => number]> = [
      ['invalid UTF-8 (0xff)', 1007, (r) => (r.text(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 1)],
      ['overlong UTF-8', 1007, (r) => (r.text(Buffer.from([0xc0, 0xaf])), 1)],
      ['UTF-16 surrogate in UTF-8', 1007, (r) => (r.text(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), 1)],
      ['truncated multi-byte UTF-8', 1007, (r) => (r.text(Buffer.from([0x22, 0xe2, 0x82])), 1)],
      ['invalid UTF-8 split across fragments', 1007, (r) => (r.text(Buffer.from([0x22, 0xe2]), { fin: false }), r.frame(Opcode.continuation, Buffer.from([0x28, 0xa1, 0x22])), 2)],
      ['continuation without a start', 1002, (r) => (r.frame(Opcode.continuation, '{"cmd":"echo"}'), 1)],
      ['new message inside a fragmented one', 1002, (r) => (r.text('{"cmd":', { fin: false }), r.text('{"cmd":"echo"}'), 2)],
      ['fragmented ping', 1002, (r) => (r.frame(Opcode.ping, 'x', { fin: false }), 1)],
      ['ping payload of 126 bytes', 1002, (r) => (r.frame(Opcode.ping, Buffer.alloc(126)), 1)],
      ['RSV1 without an extension', 1002, (r) => (r.text('{}', { rsv1: true }), 1)],
      ['unmasked client frame', 1002, (r) => (r.text('{"cmd":"echo"}', { mask: false }), 1)],
      ['reserved data opcode 0x3', 1002, (r) => (r.frame(0x3, 'x'), 1)],
      ['reserved control opcode 0xB', 1002, (r) => (r.frame(0xb, 'x'), 1)],
      ['close code 999', 1002, (r) => (r.frame(Opcode.close, Buffer.from([0x03, 0xe7])), 1)],
      ['close frame of 1 byte', 1002, (r) => (r.frame(Opcode.close, Buffer.from([0x03])), 1)],
      ['close reason not UTF-8', 1007, (r) => (r.frame(Opcode.close, Buffer.from([0x03, 0xe8, 0xff])), 1)],
      ['header claims 70,000 bytes', 1009, (r) => (r.write(encodeFrame(Opcode.text, Buffer.alloc(10), { claimedLength: 70_000 })), 1)],
      ['header claims 2^53 bytes', 1009, (r) => (r.write(encodeFrame(Opcode.text, Buffer.alloc(0), { claimedLength: 2 ** 53 })), 1)],
      ['fragments summing past WS_MAX_PAYLOAD', 1009, (r) => (r.text(Buffer.alloc(40_000, 0x20), { fin: false }), r.frame(Opcode.continuation, Buffer.alloc(40_000, 0x20)), 2)],
      ['16,385 one-byte fragments (ws maxFragments)', 1008, (r) => (r.write(fragmentFlood), 16_385)],
      // Nothing more ever comes: the ping deadline ends it (the raw client never answers pings).
      ['unterminated fragment sequence', 1006, (r) => (r.text('{"cmd":"echo","param":', { fin: false }), 1)],
    ];
    const rawRuns = rawCases.map(async ([what, code, send], k) => {
      const r = await raw(protocol, `raw-${k}`, code);
      protocol.frames += send(r);
      await r.ended;
      // The server's close frame, when it could send one (not after the ping deadline's terminate).
      if (r.closeCode !== (code === 1006 ? undefined : code)) protocol.mismatches.push(`${what}: the client got close ${r.closeCode}, expected ${code}`);
      count(protocol, `client saw ${r.closeCode ?? 'no close frame'}`);
    });

    // Valid fragmented messages (with pings between fragments, as RFC 6455 allows): all answered.
    const fragmented = tally('valid fragmented messages (raw)');
    const fragmentedRun = (async () => {
      const r = await raw(fragmented, 'fragments', 1000);
      const n = 200;
      for (let i = 0; i < n; i++) {
        const text = echo(`fragmented-${i}`, i);
        const cuts = [0, ...new Set(Array.from({ length: 1 + int(3) }, () => 1 + int(text.length - 2)))].sort((a, b) => a - b);
        cuts.forEach((at, k) => {
          const part = text.slice(at, cuts[k + 1]);
          r.frame(k === 0 ? Opcode.text : Opcode.continuation, part, { fin: k === cuts.length - 1 });
          if (k === 0) r.frame(Opcode.ping, 'between');
          fragmented.frames += k === 0 ? 2 : 1;
        });
        if (i % 20 === 19) await yieldToLoop();
      }
      await eventually(() => expect(r.texts.filter((x) => x.includes('"cmd":"reply"')).length).to.equal(n), 10_000, 20);
      for (const x of r.texts) count(fragmented, JSON.parse(x).cmd);
      count(fragmented, 'pong', r.pongs);
      if (r.pongs !== n) fragmented.mismatches.push(`${r.pongs} pongs for ${n} pings between fragments`);
      r.frame(Opcode.close, Buffer.from([0x03, 0xe8]));
      await r.ended;
    })();

    // --- Pings: a burst is cut off by ws (too many pongs pending), a paced stream is answered ----
    const pings = tally('ping floods');
    const pingRuns = [
      (async () => {
        const r = await raw(pings, 'ping-burst', 1006);
        r.write(pingBurst);
        pings.frames += 2000;
        await r.ended;
        count(pings, 'burst: pongs before termination', r.pongs);
        if (r.pongs >= 2000 || r.closeCode !== undefined) pings.mismatches.push(`burst: ${r.pongs} pongs, close frame ${r.closeCode}: expected a termination`);
      })(),
      (async () => {
        const r = await raw(pings, 'ping-paced', 1000);
        for (let i = 0; i < 50; i++) {
          r.write(Buffer.concat(Array.from({ length: 20 }, () => encodeFrame(Opcode.ping, 'p'))));
          pings.frames += 20;
          await eventually(() => expect(r.pongs).to.equal((i + 1) * 20), 5000, 5);
        }
        count(pings, 'paced: pongs', r.pongs);
        r.frame(Opcode.close, Buffer.from([0x03, 0xe8]));
        await r.ended;
      })(),
    ];

    // --- Half-open connections -----------------------------------------------------------------
    const halfOpen = tally('half-open connections');
    const silentClients: TestClient[] = [];
    const halfOpenRun = (async () => {
      for (let i = 0; i < 10; i++) raws.push(await RawSocket.tcp(t.port)); // connect, send nothing
      for (let i = 0; i < 10; i++) {
        const r = await RawSocket.tcp(t.port);
        r.write(`GET /h/hostile?ch=partial-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso`); // then silence
        raws.push(r);
      }
      count(halfOpen, 'TCP only / partial handshake', 20);
      // A handshake, then never reading: the ping deadline terminates it.
      const silent = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(t.url(`/h/hostile?ch=silent-${i}`))));
      silentClients.push(...silent);
      for (const [i, c] of silent.entries()) {
        c.pauseReading();
        closes.push({ t: halfOpen, expect: 1006, closed: (await serverConn(`silent-${i}`)).closed });
      }
      await sleep(200);
      expect(sockets.getConnections().filter((c) => c.channel.startsWith('partial-')), 'partial handshakes are not connections').to.deep.equal([]);
    })();

    const all = { json: jsonRuns, oversized: oversizedRuns, flood: [floodRun], raw: rawRuns, fragmented: [fragmentedRun], pings: pingRuns, halfOpen: [halfOpenRun] };
    await Promise.all(Object.values(all).flat());
    // Every connection that had to be closed by the server has been, with its code.
    const closeInfos = await Promise.all(closes.map((c) => c.closed));
    closes.forEach((c, k) => {
      count(c.t, `server close ${closeInfos[k]!.code}`);
      if (closeInfos[k]!.code !== c.expect) c.t.mismatches.push(`server closed with ${JSON.stringify(closeInfos[k])}, expected ${c.expect}`);
    });
    storming = false;
    await loop;

    // --- The server is still up and well ------------------------------------------------------
    const after = await connect(t.url('/h/good?ch=after'));
    expect((await after.request('', 'echo', { text: 'still here' })).param).to.deep.equal({ length: 10, head: 'still here' });
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(prototypeKeys(), 'Object/Array/Function prototypes').to.deep.equal(cleanPrototypes);
    expect(['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e)), 'global handlers').to.deep.equal(processListeners);
    expect(good.frames.filter((f) => f.cmd === 'error'), 'errors seen by the well-behaved client').to.deep.equal([]);
    expect(good.isOpen).to.equal(true);

    // --- Back to the baseline -----------------------------------------------------------------
    for (const c of [...jsonClients, after, good]) await c.close();
    for (const c of silentClients) c.terminate();
    for (const r of raws) r.destroy();
    // The test's own data is not the server's growth: drop the generated frames and what the clients received.
    json = [];
    for (const c of [...jsonClients, ...silentClients, after, good]) c.frames.length = 0;
    raws.length = 0;
    await eventually(async () => {
      const counts = sockets.counts();
      expect({ connections: counts.connections, channels: counts.channels, tcp: await tcpConnections() }).to.deep.equal({
        connections: baseline.connections,
        channels: baseline.channels,
        tcp: baseline.tcp,
      });
    }, 5000);
    // Every per-address slot was given back (half-open and refused sockets included).
    expect((sockets as unknown as { gate: { perIp: Map<string, number> } }).gate.perIp.size, 'addresses holding connection slots').to.equal(0);
    expect(sockets.getConnections()).to.deep.equal([]);
    gc();
    gc();
    const heapGrowthMb = (process.memoryUsage().heapUsed - baseline.heap) / 2 ** 20;

    const total = tallies.reduce((n, c) => n + c.frames, 0);
    const sorted = [...rtts].sort((a, b) => a - b);
    const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    report(total, sorted.length, quantile(0.5), quantile(0.99), sorted.at(-1)!, heapGrowthMb, sockets.counts());
    for (const c of tallies) expect(c.mismatches, c.category).to.deep.equal([]);
    expect(total - 16_385, 'hostile frames sent, besides the 16,385 fragments of one message').to.be.at.least(10_000);
    expect(quantile(0.99), 'well-behaved p99 round trip (ms)').to.be.below(250);
    expect(heapGrowthMb, 'heap growth after GC (MiB)').to.be.below(8);
  });

  function report(total: number, n: number, p50: number, p99: number, max: number, heapGrowthMb: number, counts: object): void {
    const lines = tallies.map((c) => `  ${c.category.padEnd(44)} ${String(c.frames).padStart(6)}  ${[...c.seen].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    console.log(
      `\n  hostile frames: ${total}\n${lines.join('\n')}\n  well-behaved: ${n} round trips, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms` +
        `\n  heap growth after GC: ${heapGrowthMb.toFixed(2)} MiB; service counts afterwards: ${JSON.stringify(counts)}`,
    );
  }
});
