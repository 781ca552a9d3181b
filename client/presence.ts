import type { PresenceDiff } from '../server/socket/message';

/**
 * A channel's users, kept from the server's `presence-diff` frames:
 *
 * ```ts
 * const people = new PresenceList();
 * people.set((await socket.presence(channel)).users); // or a snapshot's users
 * // in onMessage:
 * if (frame.cmd === 'presence-diff' && people.apply(frame.param)) people.set((await socket.presence(channel)).users);
 * render(people.listed ? [...people.users.values()] : `${people.count} users`);
 * ```
 *
 * A channel above the server's `WS_PRESENCE_LIST_MAX` users gets diffs with the count only (no
 * names): `listed` turns false and the page should show `count`. When names come back (the
 * channel shrank), `apply` returns true: fetch the whole list once more and `set` it.
 */
export class PresenceList {
  /** User id → name: the whole channel while `listed`. */
  readonly users = new Map<string, string>();
  /** How many distinct users the channel has (cluster-wide, as of the last diff; after `set`: the list's length). */
  count = 0;
  /** Whether `users` names everyone: false from a diff without names until the next `set`. */
  listed = true;

  /** The whole list: the built-in `presence` reply's `users`, or a page snapshot's. */
  set(users: ReadonlyArray<{ id: string; name: string }>): void {
    this.users.clear();
    for (const u of users) this.users.set(u.id, u.name);
    this.count = this.users.size;
    this.listed = true;
  }

  /**
   * One `presence-diff`. Returns true when it names users again while the list is not whole
   * (it missed who came and went while names were dropped): fetch the list and `set` it.
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
    return named && !this.listed;
  }
}
