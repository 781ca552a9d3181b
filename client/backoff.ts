export interface BackoffOptions {
  /** Delay scale of the first retry, in ms. Default 500. */
  base?: number;
  /** Largest delay, in ms, however many attempts failed. Default 20 000. */
  cap?: number;
  /** Source of randomness in [0, 1); injectable so tests are deterministic. Default Math.random. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base·2ⁿ)),
 * so clients dropped together by a restart do not all come back at the same instant.
 */
export class Backoff {
  private attempt = 0;
  private readonly base: number;
  private readonly cap: number;
  private readonly random: () => number;

  constructor({ base = 500, cap = 20_000, random = Math.random }: BackoffOptions = {}) {
    this.base = base;
    this.cap = cap;
    this.random = random;
  }

  /** The delay before the next attempt, in ms; each call counts one attempt. */
  next(): number {
    // Bounding the exponent keeps 2ⁿ finite however long an outage lasts.
    const ceiling = Math.min(this.cap, this.base * 2 ** Math.min(this.attempt++, 30));
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
