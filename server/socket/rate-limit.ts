/** Inbound frame budget of one connection: `perSecond` sustained, `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
  /**
   * Refused frames in a row (no accepted frame between) before the connection is closed with 1008.
   * Above 2 × burst by default, so one burst of three times the budget is only refused, not closed.
   */
  maxStrikes: number;
}

export const rateLimitDefaults: RateLimit = { perSecond: 50, burst: 100, maxStrikes: 250 };

/** A token bucket refilled lazily on each take: no timers, three numbers per connection. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Refused frames since the last accepted one. */
  strikes = 0;

  constructor(private readonly limit: RateLimit) {
    this.tokens = limit.burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens--;
      this.strikes = 0;
      return true;
    }
    this.strikes++;
    return false;
  }

  get abusive(): boolean {
    return this.strikes > this.limit.maxStrikes;
  }
}
