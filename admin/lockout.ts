/**
 * Wrong admin credentials (token, API key) per client address. After `maxFailures` of them,
 * each within `lockoutMs` of the one before, that address is refused (429) until `lockoutMs` has
 * passed since its last failure: guessing a 16-character secret stays hopeless even through
 * the login form. At most `maxTracked` addresses are remembered (the oldest go first).
 */
export class Lockout {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockoutMs: number,
    private readonly maxTracked = 10_000,
  ) {}

  /** Whole seconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string): number {
    const f = this.failures.get(address);
    if (!f || f.count < this.maxFailures) return 0;
    const ms = f.until - Date.now();
    if (ms > 0) return Math.ceil(ms / 1000);
    this.failures.delete(address);
    return 0;
  }

  failed(address: string): void {
    const now = Date.now();
    const f = this.failures.get(address);
    const count = f && f.until > now ? f.count + 1 : 1;
    // Re-inserted, so the map stays ordered by last failure and eviction drops the stalest.
    this.failures.delete(address);
    this.failures.set(address, { count, until: now + this.lockoutMs });
    for (const oldest of this.failures.keys()) {
      if (this.failures.size <= this.maxTracked) break;
      this.failures.delete(oldest);
    }
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
