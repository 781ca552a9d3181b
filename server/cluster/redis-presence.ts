import { clusterReapBatchDefault } from '../config';
import type { Profile } from '../socket/profile';
import { LocalPresence, type ClusterPresence } from '../socket/presence';
import type { Keys } from './keys';
import type { RedisClient, ScriptedRedis } from './scripts';

/**
 * Presence across nodes: per channel, tabs counted per (node, user). A user is present while
 * any live node (heartbeat within the TTL) counts them; a dead node's counts are reaped.
 */
export class RedisPresence implements ClusterPresence {
  /**
   * This node's own tab counts, which its fields in Redis mirror: a join or leave sends the count
   * it leaves (set, not incremented) and `restore` sends them all, so a count Redis lost is never
   * stacked on. Counted as each command is sent (LocalPresence does not await): Redis runs them in
   * that order on the one connection, and the last count sent is the one it keeps.
   */
  private readonly here = new LocalPresence();

  constructor(
    private readonly redis: ScriptedRedis<RedisClient>,
    private readonly keys: Keys,
    private readonly node: string,
    private readonly nodeTtlMs: number,
    /** Most entries one reap call handles (users taken out, channel entries read): how long it blocks Redis (CLUSTER_REAP_BATCH). */
    private readonly reapBatch = clusterReapBatchDefault,
  ) {}

  async join(channel: string, user: Profile): Promise<boolean> {
    const k = this.keys;
    void this.here.join(channel, user);
    const tabs = this.here.tabs(channel, user.id);
    const first = await this.redis.wsfPresenceJoin(k.presence(channel), k.nodePresence(this.node), k.nodes(), this.node, user.id, user.name, channel, tabs, this.minLive());
    return first === 1;
  }

  async leave(channel: string, user: Profile): Promise<boolean> {
    const k = this.keys;
    // Not counted here: no tab of this node's to take out, and so no last leave.
    if (this.here.tabs(channel, user.id) === 0) return false;
    void this.here.leave(channel, user);
    const tabs = this.here.tabs(channel, user.id);
    const last = await this.redis.wsfPresenceLeave(k.presence(channel), k.nodePresence(this.node), k.nodes(), this.node, user.id, channel, tabs, this.minLive());
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

  async count(channel: string): Promise<number> {
    return (await this.users(channel)).length;
  }

  /**
   * Writes all this node's counts back after Redis lost them (restarted empty, or another node
   * reaped this one); returns how many (channel, user) entries. Silent: no `presence-diff`, since
   * nobody was told these users had left (except after a reap: docs/cluster.md).
   */
  async restore(): Promise<number> {
    const k = this.keys;
    const entries = [...this.here.entries()];
    if (entries.length === 0) return 0;
    const m = this.redis.multi();
    for (const [channel, user, tabs] of entries) {
      m.hset(k.presence(channel), `${this.node}\t${user.id}`, tabs, `#\t${user.id}`, user.name).sadd(k.nodePresence(this.node), channel);
    }
    await m.exec();
    return entries.length;
  }

  /**
   * Reaps a dead node in script calls of at most `reapBatch` entries, so that no call holds Redis
   * long: other commands (publishes, heartbeats) run between them. Returns the users that thereby left each
   * channel; with other nodes reaping the same node at once, each such user is returned to one.
   */
  async reap(node: string): Promise<Array<{ channel: string; user: Profile }>> {
    const k = this.keys;
    const gone = [];
    for (let done = false; !done; ) {
      const [reaped, ...flat] = (await this.redis.wsfReap(k.nodePresence(node), k.nodeReaping(node), k.nodes(), node, k.presencePrefix(), this.minLive(), this.reapBatch)) as [number, ...string[]];
      done = reaped === 1;
      for (let i = 0; i < flat.length; i += 3) gone.push({ channel: flat[i]!, user: { id: flat[i + 1]!, name: flat[i + 2]! } });
    }
    return gone;
  }

  private minLive(): number {
    return Date.now() - this.nodeTtlMs;
  }
}
