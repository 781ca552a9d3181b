/** Inbound frame budget of one connection: `perSecond` sustained, `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
  /**
   * Refused frames, forgiven at `perSecond`, beyond which the connection is closed with 1008: a
   * client that keeps sending more than twice its budget gets there, however it paces itself or
   * however slow the server is. Above 2 × burst by default, so one burst of three times the budget
   * is only refused, not closed.
   */
  maxStrikes: number;
}

/** A token bucket refilled lazily on each take: no timers, three numbers per connection. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Refused frames not yet forgiven (they are forgiven at `perSecond`). */
  strikes = 0;

  constructor(private readonly limit: RateLimit) {
    this.tokens = limit.burst;
  }

  take(): boolean {
    const now = performance.now();
    const refill = ((now - this.last) / 1000) * this.limit.perSecond;
    this.tokens = Math.min(this.limit.burst, this.tokens + refill);
    // Not reset by an accepted frame: under load every event-loop turn refills a little, and a
    // flood would then never add up to a close.
    this.strikes = Math.max(0, this.strikes - refill);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    this.strikes++;
    return false;
  }

  get abusive(): boolean {
    return this.strikes > this.limit.maxStrikes;
  }
}
