/**
 * Sends items per key in order with one call in flight per key: what is added meanwhile waits and
 * goes in the next call, all together. A client that retries each command on its own (ioredis on
 * a Redis Cluster, through a failover or a MOVED) can then not reorder them, and a busy key costs
 * a round trip per batch, not per item. Items added in one event-loop turn go in one call.
 */
export class OrderedBatches {
  /** Per key: the batch still taking items (not sent yet). */
  private readonly open = new Map<string, { items: Array<string | number>; sent: Promise<unknown> }>();
  /** Per key: settles when its last batch has (never rejects). */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly send: (key: string, items: Array<string | number>) => Promise<unknown>) {}

  /** Sends `items` after everything added before for `key`; settles as the call carrying them does. */
  add(key: string, ...items: Array<string | number>): Promise<unknown> {
    const waiting = this.open.get(key);
    if (waiting) {
      waiting.items.push(...items);
      return waiting.sent;
    }
    const batch = { items, sent: Promise.resolve() as Promise<unknown> };
    batch.sent = (this.tails.get(key) ?? Promise.resolve()).then(() => {
      this.open.delete(key); // from now on, items go in the next batch
      return this.send(key, batch.items);
    });
    this.open.set(key, batch);
    const tail = batch.sent.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => this.tails.get(key) === tail && this.tails.delete(key));
    return batch.sent;
  }
}
