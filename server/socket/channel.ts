import type { Connection } from './connection';

/** A channel's members on this node. Presence across tabs and nodes is the bus's Presence. */
export class Channel {
  readonly members = new Set<Connection>();
  /** `[key]`: the `channels` of every member that is in this channel only (never changed). */
  readonly alone: readonly string[];
  readonly created = Date.now();
  /** Settles once the bus delivers this channel's frames here; later joiners wait for it too. */
  ready: Promise<void> = Promise.resolve();

  constructor(readonly key: string) {
    this.alone = Object.freeze([key]);
  }

  get size(): number {
    return this.members.size;
  }

  /** Distinct local users, one entry however many tabs each has open. */
  users(): Array<{ id: string; name: string }> {
    const seen = new Map<string, string>();
    for (const c of this.members) if (!seen.has(c.profile.id)) seen.set(c.profile.id, c.profile.name);
    return [...seen].map(([id, name]) => ({ id, name }));
  }
}
