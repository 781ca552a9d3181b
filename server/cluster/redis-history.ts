import type { History, HistoryRead, Position } from '../socket/history';
import type { Keys } from './keys';
import type { RedisClient, ScriptedRedis } from './scripts';

type Entries = Array<[id: string, fields: string[]]>;

/**
 * Channel history in Redis: per channel a hash (epoch, seq: the last offset) and a stream whose
 * entry ids are the contiguous offsets stamped by the publish script (`<offset>-0`), so what was
 * trimmed or expired is visible as a gap. Entries carry the publishing node's time (`t`).
 */
export class RedisHistory implements History {
  constructor(
    private readonly redis: ScriptedRedis<RedisClient>,
    private readonly keys: Keys,
    private readonly ttlMs: number,
  ) {}

  async head(channel: string): Promise<Position | undefined> {
    const [epoch, seq] = await this.redis.hmget(this.keys.historyMeta(channel), 'epoch', 'seq');
    return epoch ? { epoch, offset: seq ?? '0' } : undefined;
  }

  async read(channel: string, since?: Position): Promise<HistoryRead> {
    const offset = since ? Number(since.offset) : 0;
    const valid = Number.isSafeInteger(offset) && offset >= 0;
    let from = valid ? offset : 0;
    let { epoch, seq, entries } = await this.query(channel, from);
    if (!epoch) return { frames: [], complete: since === undefined };
    const known = since === undefined || (valid && since.epoch === epoch);
    // Another epoch: everything kept of the current one (read again from its start, rarely).
    if (!known && from > 0) ({ epoch, seq, entries } = await this.query(channel, (from = 0)));
    if (!epoch) return { frames: [], complete: false };
    const oldest = Date.now() - this.ttlMs;
    const frames: string[] = [];
    let complete = known;
    let expect = from + 1;
    for (const [id, fields] of entries) {
      // Fields are [t, <ms>, d, <frame>].
      if (Number(fields[1]) < oldest) {
        complete = false; // expired: gone
        continue;
      }
      const n = Number(id.slice(0, id.indexOf('-')));
      if (n !== expect) complete = false;
      expect = n + 1;
      frames.push(fields[3]!);
    }
    if (expect <= seq) complete = false;
    return { head: { epoch, offset: String(seq) }, frames, complete };
  }

  /** The channel's epoch and last offset, and the stream after `from`, in one snapshot. */
  private async query(channel: string, from: number): Promise<{ epoch: string | null; seq: number; entries: Entries }> {
    const [[, meta], [, entries]] = (await this.redis
      .multi()
      .hmget(this.keys.historyMeta(channel), 'epoch', 'seq')
      .xrange(this.keys.historyStream(channel), from > 0 ? `(${from}-0` : '-', '+')
      .exec()) as [[unknown, Array<string | null>], [unknown, Entries]];
    return { epoch: meta[0] ?? null, seq: Number(meta[1] ?? 0), entries };
  }
}
