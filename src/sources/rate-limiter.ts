/**
 * Spaces requests so that no sliding one-second window holds more than `perSecond` of them.
 * One limiter per key is shared by every activity of the worker process.
 *
 * Takers are released one after another, each at least `spacingMs` after the previous one was really
 * released (not after it was planned to be): a timer that fires late, on a busy event loop, pushes the
 * following requests back instead of letting them bunch up behind it.
 */
export class RateLimiter {
  private lastRelease = Number.NEGATIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();
  readonly spacingMs: number;

  constructor(
    perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    // a little over 1000/perSecond, so requests exactly one window apart never meet in one window
    this.spacingMs = Math.ceil(1000 / perSecond) + 10;
  }

  /**
   * The budget passes to this process from one that may have just spent it (another worker's lookup of
   * the same account and region, or a killed attempt's): its last request is taken to be now, so the
   * first one here waits a spacing. Holding the account-and-region lock keeps the requests one after
   * another; this keeps them apart across the change of holder.
   */
  handOver(): void {
    this.lastRelease = Math.max(this.lastRelease, this.now());
  }

  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      const wait = this.lastRelease + this.spacingMs - this.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastRelease = this.now();
    });
    this.queue = turn;
    return turn;
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
