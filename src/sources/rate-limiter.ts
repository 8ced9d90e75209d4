/**
 * Spaces requests so that no sliding one-second window holds more than `perSecond` of them.
 * One limiter per key is shared by every activity of the worker process.
 */
export class RateLimiter {
  private next = 0;
  private readonly spacingMs: number;

  constructor(perSecond: number, private readonly now: () => number = Date.now) {
    // a little over 1000/perSecond, so requests exactly one window apart never meet in one window
    this.spacingMs = Math.ceil(1000 / perSecond) + 10;
  }

  async take(): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + this.spacingMs;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

const shared = new Map<string, RateLimiter>();

export function sharedLimiter(key: string, perSecond: number): RateLimiter {
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new RateLimiter(perSecond);
    shared.set(key, limiter);
  }
  return limiter;
}
