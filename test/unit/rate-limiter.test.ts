import { RateLimiter } from '../../src/sources/rate-limiter';

function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a busy event loop: timers fire late
  }
}

describe('RateLimiter', () => {
  test('releases concurrent takers one spacing apart, in order', async () => {
    const limiter = new RateLimiter(5);
    const released: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => limiter.take().then(() => released.push(Date.now()))));
    for (let i = 1; i < released.length; i++) expect(released[i] - released[i - 1]).toBeGreaterThanOrEqual(limiter.spacingMs - 1);
    expect(released[5] - released[0]).toBeLessThan(5 * limiter.spacingMs + 400);
  });

  test('a late timer pushes the next takers back: no window ever holds more than perSecond', async () => {
    const limiter = new RateLimiter(2);
    const released: number[] = [];
    const takes = Array.from({ length: 5 }, () => limiter.take().then(() => released.push(Date.now())));
    await takes[0];
    setTimeout(() => busyFor(400), limiter.spacingMs - 50); // the second taker's timer fires ~350 ms late
    await Promise.all(takes);
    // the times are taken in promise callbacks, which a busy machine delays by a few ms each
    for (let i = 1; i < released.length; i++) expect(released[i] - released[i - 1]).toBeGreaterThanOrEqual(limiter.spacingMs - 10);
    for (let i = 2; i < released.length; i++) expect(released[i] - released[i - 2]).toBeGreaterThan(1000);
  });

  test('after a hand-over the first taker waits a spacing: the previous holder may have just sent', async () => {
    const limiter = new RateLimiter(2);
    await limiter.take();
    await new Promise((resolve) => setTimeout(resolve, limiter.spacingMs + 50)); // idle: a take would be released at once
    const before = Date.now();
    limiter.handOver();
    await limiter.take();
    expect(Date.now() - before).toBeGreaterThanOrEqual(limiter.spacingMs - 5);
  });
});
