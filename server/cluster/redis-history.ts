import type { History, Position } from '../socket/history';
import type { Keys } from './keys';
import type { ScriptedRedis } from './scripts';

/**
 * Channel history in Redis: a stream per channel whose entry ids are the contiguous offsets
 * stamped by the publish script, so a gap (trimmed or expired) is detectable.
 */
export class RedisHistory implements History {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly ttlMs: number,
  ) {}

  async since(channel: string, since: Position): Promise<string[] | undefined> {
    const from = Number(since.offset);
    if (!Number.isSafeInteger(from) || from < 0) return undefined;
    const [[, epoch], [, entries]] = (await this.redis
      .multi()
      .hget(this.keys.historyMeta(channel), 'epoch')
      .xrange(this.keys.historyStream(channel), `(${from}-0`, '+')
      .exec()) as [[unknown, string | null], [unknown, Array<[string, string[]]>]];
    if (epoch !== since.epoch) return undefined;
    const oldest = Date.now() - this.ttlMs;
    const frames: string[] = [];
    let expect = from + 1;
    for (const [id, fields] of entries) {
      // Fields are [t, <ms>, d, <frame>]; ids are "<offset>-0".
      if (Number(id.slice(0, id.indexOf('-'))) !== expect++ || Number(fields[1]) < oldest) return undefined;
      frames.push(fields[3]!);
    }
    return frames;
  }
}
