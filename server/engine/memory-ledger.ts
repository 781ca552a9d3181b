import type { RetryLedger, RetryOutcome } from '../socket/retry-ledger';

/** The retry ledger of nodes sharing one MemoryBackend (tests, and several services in one process). */
export class MemoryLedger implements RetryLedger {
  private readonly keys = new Map<string, { outcome: RetryOutcome | 'pending'; expires: number }>();
  private claims = 0;

  async claim(key: string, ttlMs: number): Promise<RetryOutcome | 'pending' | undefined> {
    const now = Date.now();
    const held = this.keys.get(key);
    if (held && held.expires > now) return held.outcome;
    this.sweep(now);
    this.keys.set(key, { outcome: 'pending', expires: now + ttlMs });
    return undefined;
  }

  async record(key: string, outcome: RetryOutcome, ttlMs: number): Promise<void> {
    this.keys.set(key, { outcome, expires: Date.now() + ttlMs });
  }

  /** Drops expired keys every 1,024 claims. */
  private sweep(now: number): void {
    if (++this.claims % 1024 !== 0) return;
    for (const [k, v] of this.keys) if (v.expires <= now) this.keys.delete(k);
  }
}
