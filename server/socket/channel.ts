import type { Connection } from './connection';

/**
 * A channel's local members. Tracks connections per user so that a user with several tabs
 * is announced once on the first join and once on the last leave.
 */
export class Channel {
  readonly members = new Map<string, Connection>();
  private readonly tabs = new Map<string, number>();
  readonly created = Date.now();

  constructor(readonly key: string) {}

  /** Adds a member; true when it is the user's first connection in this channel. */
  add(conn: Connection): boolean {
    if (this.members.has(conn.id)) return false;
    this.members.set(conn.id, conn);
    const n = this.tabs.get(conn.profile.id) ?? 0;
    this.tabs.set(conn.profile.id, n + 1);
    return n === 0;
  }

  /** Removes a member; true when it was the user's last connection in this channel. */
  remove(conn: Connection): boolean {
    if (!this.members.delete(conn.id)) return false;
    const n = (this.tabs.get(conn.profile.id) ?? 1) - 1;
    if (n > 0) {
      this.tabs.set(conn.profile.id, n);
      return false;
    }
    this.tabs.delete(conn.profile.id);
    return true;
  }

  get size(): number {
    return this.members.size;
  }

  /** Distinct users in the channel, one entry however many tabs each has open. */
  users(): Array<{ id: string; name: string }> {
    const seen = new Map<string, string>();
    for (const c of this.members.values()) if (!seen.has(c.profile.id)) seen.set(c.profile.id, c.profile.name);
    return [...seen].map(([id, name]) => ({ id, name }));
  }
}
