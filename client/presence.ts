import type { PresenceDiff } from '../server/socket/message';

/**
 * A channel's users, kept from the server's `presence-diff` frames:
 *
 * ```ts
 * const people = new PresenceList({ fetch: () => socket.presence(channel), onChange: render });
 * people.set((await socket.presence(channel)).users); // or a snapshot's users
 * // in onMessage:
 * if (frame.cmd === 'presence-diff') people.apply(frame.param);
 * function render() { show(people.listed ? [...people.users.values()] : `${people.count} users`); }
 * ```
 *
 * A channel above the server's `WS_PRESENCE_LIST_MAX` users gets diffs with the count only (no
 * names): `listed` turns false and the page should show `count`. When names come back (the
 * channel shrank), the list fetches the whole list once more with `fetch`.
 */
export interface PresenceListOptions {
  /** The whole list again (the built-in `presence`), once names come back after a while without them. */
  fetch?: () => Promise<{ users: ReadonlyArray<{ id: string; name: string }> }>;
  /** After every change: `set`, `apply`, or a fetch that came back. */
  onChange?: () => void;
}

export class PresenceList {
  /** User id → name: the whole channel while `listed`. */
  readonly users = new Map<string, string>();
  /** How many distinct users the channel has (cluster-wide, as of the last diff; after `set`: the list's length). */
  count = 0;
  /** Whether `users` names everyone: false from a diff without names until the next `set`. */
  listed = true;
  private fetching = false;

  constructor(private readonly options: PresenceListOptions = {}) {}

  /** The whole list: the built-in `presence` reply's `users`, or a page snapshot's. */
  set(users: ReadonlyArray<{ id: string; name: string }>): void {
    this.users.clear();
    for (const u of users) this.users.set(u.id, u.name);
    this.count = this.users.size;
    this.listed = true;
    this.options.onChange?.();
  }

  /**
   * One `presence-diff`. Returns true when it names users again while the list is not whole (it
   * missed who came and went while names were dropped): then the list is fetched, if it can be.
   */
  apply(diff: PresenceDiff): boolean {
    // The server never sends an empty diff: empty lists mean the names were dropped.
    const named = diff.joins.length + diff.leaves.length > 0;
    if (!named && this.listed) {
      this.listed = false;
      this.users.clear();
    }
    for (const u of diff.leaves) this.users.delete(u.userId);
    for (const u of diff.joins) this.users.set(u.userId, u.name);
    this.count = diff.count;
    this.options.onChange?.();
    const stale = named && !this.listed;
    if (stale) void this.refetch();
    return stale;
  }

  private async refetch(): Promise<void> {
    const { fetch } = this.options;
    if (!fetch || this.fetching) return;
    this.fetching = true;
    try {
      this.set((await fetch()).users);
    } catch (e) {
      console.warn(`wsforge presence: ${(e as Error).message}`);
    } finally {
      this.fetching = false;
    }
  }
}
