/**
 * Where the cluster keeps retry-safe frames' first answers (dedupe.ts), so that a retry reaching
 * another node than the first attempt (a reconnect through a load balancer) is recognised too.
 * The node's own Dedupe table answers retries that come back to it; the ledger is asked only
 * when that table has not seen the id.
 *
 * Contract (test/engine-contract.test.ts runs it against every engine):
 * - `claim(key, ttlMs)` is atomic across nodes: of concurrent claims of one key exactly one gets
 *   `undefined` (it runs the frame); the others get `'pending'` until that one is recorded,
 *   then the recorded outcome. A claim holds for `ttlMs`: if its node dies before recording, the
 *   key is free again after that and a retry runs the frame.
 * - `record(key, outcome, ttlMs)` stores the outcome for `ttlMs` from then.
 * - Outcomes are JSON: a reply value or an error's code and message.
 */
export type RetryOutcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

export interface RetryLedger {
  claim(key: string, ttlMs: number): Promise<RetryOutcome | 'pending' | undefined>;
  record(key: string, outcome: RetryOutcome, ttlMs: number): Promise<void>;
}
