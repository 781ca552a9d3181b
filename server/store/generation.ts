import { randomUUID } from 'node:crypto';
import type { StateStore } from './store';

/** Where a store keeps its generation (the `wsforge:` prefix is never evicted by the durable store). */
export const GENERATION_KEY = 'wsforge:generation';

/**
 * The store's generation: a random id written into the store the first time it is asked for,
 * then the same for as long as the store keeps its state. Pages get it with every snapshot; a
 * different one after a reconnect means the server lost what it had (a memory store restarted, a
 * durable store's directory or a Redis deleted) and the page says so, then shows the new state.
 * A restart with the durable store (or Redis) keeps it: nothing was lost.
 */
export async function stateGeneration(store: StateStore): Promise<string> {
  return (await store.get<string>(GENERATION_KEY)) ?? store.update<string>(GENERATION_KEY, (current) => current ?? randomUUID());
}
