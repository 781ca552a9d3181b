import type { Profile } from './connection';

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
}

/** Single-node presence. */
export class LocalPresence implements Presence {
  private readonly channels = new Map<string, Map<string, { name: string; tabs: number }>>();

  async join(channel: string, user: Profile): Promise<boolean> {
    let users = this.channels.get(channel);
    if (!users) this.channels.set(channel, (users = new Map()));
    const u = users.get(user.id);
    if (u) {
      u.tabs++;
      return false;
    }
    users.set(user.id, { name: user.name, tabs: 1 });
    return true;
  }

  async leave(channel: string, user: Profile): Promise<boolean> {
    const users = this.channels.get(channel);
    const u = users?.get(user.id);
    if (!users || !u) return false;
    if (--u.tabs > 0) return false;
    users.delete(user.id);
    if (users.size === 0) this.channels.delete(channel);
    return true;
  }

  async users(channel: string): Promise<Profile[]> {
    return [...(this.channels.get(channel) ?? [])].map(([id, u]) => ({ id, name: u.name }));
  }
}
