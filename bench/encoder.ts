/**
 * `npx tsx bench/encoder.ts`: the frame encoder of the send path (server/socket/frame.ts) against
 * ws's own `Sender.frame` (undocumented, what wsforge used before), building the same text frames
 * of 64 B, 256 B, 4 KiB and 70 KiB. Both outputs are compared byte for byte first.
 */
import * as ws from 'ws';
import { textFrame } from '../server/socket/frame';

const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
const viaWs = (data: string): Buffer => {
  const parts = Sender.frame(Buffer.from(data), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
};

function time(fn: (s: string) => Buffer, data: string, n: number): number {
  for (let i = 0; i < n / 10; i++) fn(data); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(data);
  return Number(process.hrtime.bigint() - start) / n;
}

console.log('| payload | ws Sender.frame | wsforge textFrame | ratio |');
console.log('|---|---|---|---|');
for (const size of [64, 256, 4096, 70_000]) {
  const data = JSON.stringify({ channel: 'c', cmd: 'chat', param: { text: 'é'.repeat(size / 2) } }).slice(0, size);
  if (!viaWs(data).equals(textFrame(data))) throw new Error(`different frames at ${size} B`);
  const n = size > 10_000 ? 20_000 : 500_000;
  const best = (fn: (s: string) => Buffer) => Math.min(...[1, 2, 3].map(() => time(fn, data, n)));
  const a = best(viaWs);
  const b = best(textFrame);
  console.log(`| ${size} B | ${a.toFixed(0)} ns | ${b.toFixed(0)} ns | ${(b / a).toFixed(2)}× |`);
}
