import type { Profile } from './profile';

/**
 * Who is in a channel, counted per user so several tabs (and, in a cluster, several nodes)
 * make one presence: `join` is true only for a user's first connection anywhere, `leave`
 * only for the last.
 */
export interface Presence {
  join(channel: string, user: Profile): Promise<boolean>;
  leave(channel: string, user: Profile): Promise<boolean>;
  /** Distinct users in the channel, one entry however many tabs or nodes. */
  users(channel: string): Promise<Profile[]>;
  /** How many distinct users the channel has (what `users` would list). */
  count(channel: string): Promise<number>;
}

/**
 * Presence as the NodeRegistry sees it (registry.ts): kept per node, so a dead node's share can be
 * taken out and a node can write its own back when the backend lost it.
 */
export interface ClusterPresence extends Presence {
  /**
   * Writes this node's whole presence again, as it counts it itself (the backend lost it, or this
   * node was reaped while it was cut off); returns how many (channel, user) entries. Silent: it
   * answers no join or leave.
   */
  restore(): Promise<number>;
  /**
   * Takes a dead node's presence out; returns the (channel, user) pairs no live node has any more.
   * Exclusive per pair: when several nodes reap the same node, each pair is returned to one of
   * them only. An engine may do it in bounded steps (Redis: CLUSTER_REAP_BATCH per script call),
   * so a large dead node never blocks the backend for long.
   */
  reap(node: string): Promise<Array<{ channel: string; user: Profile }>>;
}

/** Single-node presence: one node's own tab counts (the memory engine shares them between nodes). */
export class LocalPresence implements Presence {
  /** Channel → user id → the profile of the user's first tab there (shared, not copied). */
  private readonly channels = new Map<string, Map<string, Profile>>();
  /** Channel → user id → tabs beyond the first: apart, because most users have one tab and idle memory counts. */
  private readonly extraTabs = new Map<string, Map<string, number>>();

  async join(channel: string, user: Profile): Promise<boolean> {
    let users = this.channels.get(channel);
    if (!users) this.channels.set(channel, (users = new Map()));
    if (!users.has(user.id)) {
      users.set(user.id, user);
      return true;
    }
    let extra = this.extraTabs.get(channel);
    if (!extra) this.extraTabs.set(channel, (extra = new Map()));
    extra.set(user.id, (extra.get(user.id) ?? 0) + 1);
    return false;
  }

  async leave(channel: string, user: Profile): Promise<boolean> {
    const users = this.channels.get(channel);
    if (!users?.has(user.id)) return false;
    const extra = this.extraTabs.get(channel);
    const tabs = extra?.get(user.id);
    if (tabs !== undefined) {
      if (tabs > 1) extra!.set(user.id, tabs - 1);
      else if (extra!.delete(user.id) && extra!.size === 0) this.extraTabs.delete(channel);
      return false;
    }
    users.delete(user.id);
    if (users.size === 0) this.channels.delete(channel);
    return true;
  }

  async users(channel: string): Promise<Profile[]> {
    return [...(this.channels.get(channel)?.values() ?? [])].map(({ id, name }) => ({ id, name }));
  }

  async count(channel: string): Promise<number> {
    return this.channels.get(channel)?.size ?? 0;
  }

  /** The user's tabs in the channel (0: none). */
  tabs(channel: string, userId: string): number {
    return this.channels.get(channel)?.has(userId) ? 1 + (this.extraTabs.get(channel)?.get(userId) ?? 0) : 0;
  }

  /** Every (channel, user, tabs) counted here. */
  *entries(): Generator<[channel: string, user: Profile, tabs: number]> {
    for (const [channel, users] of this.channels) for (const [id, user] of users) yield [channel, user, this.tabs(channel, id)];
  }
}
