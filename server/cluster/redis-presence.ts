import type { Profile } from '../socket/connection';
import type { Presence } from '../socket/presence';
import type { Keys } from './keys';
import type { ScriptedRedis } from './scripts';

/**
 * Presence across nodes: per channel, tabs counted per (node, user). A user is present while
 * any live node (heartbeat within the TTL) counts them; a dead node's counts are reaped.
 */
export class RedisPresence implements Presence {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly node: string,
    private readonly nodeTtlMs: number,
  ) {}

  async join(channel: string, user: Profile): Promise<boolean> {
    const k = this.keys;
    const first = await this.redis.wsfPresenceJoin(k.presence(channel), k.nodePresence(this.node), k.nodes(), this.node, user.id, user.name, channel, this.minLive());
    return first === 1;
  }

  async leave(channel: string, user: Profile): Promise<boolean> {
    const k = this.keys;
    const last = await this.redis.wsfPresenceLeave(k.presence(channel), k.nodePresence(this.node), k.nodes(), this.node, user.id, channel, this.minLive());
    return last === 1;
  }

  async users(channel: string): Promise<Profile[]> {
    const [[, fields], [, live]] = (await this.redis
      .multi()
      .hgetall(this.keys.presence(channel))
      .zrangebyscore(this.keys.nodes(), this.minLive(), '+inf')
      .exec()) as [[unknown, Record<string, string>], [unknown, string[]]];
    const alive = new Set(live);
    const ids = new Set<string>();
    for (const [field, tabs] of Object.entries(fields)) {
      const tab = field.indexOf('\t');
      if (Number(tabs) > 0 && alive.has(field.slice(0, tab))) ids.add(field.slice(tab + 1));
    }
    // Names sit beside the counts under "#\t<user>" (see scripts.ts).
    return [...ids].map((id) => ({ id, name: fields[`#\t${id}`] ?? id }));
  }

  /** Reaps a dead node; returns the users that thereby left each channel. */
  async reap(node: string): Promise<Array<{ channel: string; user: Profile }>> {
    const k = this.keys;
    const flat = (await this.redis.wsfReap(k.nodePresence(node), k.nodes(), node, k.presencePrefix(), this.minLive())) as string[];
    const gone = [];
    for (let i = 0; i < flat.length; i += 3) gone.push({ channel: flat[i]!, user: { id: flat[i + 1]!, name: flat[i + 2]! } });
    return gone;
  }

  private minLive(): number {
    return Date.now() - this.nodeTtlMs;
  }
}
