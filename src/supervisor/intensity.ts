/**
 * Restart intensity as OTP defines it: more than `intensity` restarts within
 * `period` ms means the children cannot be kept alive and the supervisor must
 * give up. Kept as a tiny pure function so it is tested on its own.
 */
export function recordRestart(
  history: readonly number[],
  now: number,
  intensity: number,
  period: number,
): { history: number[]; exceeded: boolean } {
  const recent = history.filter((t) => now - t < period);
  recent.push(now);
  return { history: recent, exceeded: recent.length > intensity };
}

/** Exponential backoff for the nth restart within the current period (n >= 1). */
export function backoffDelay(n: number, initial: number, max: number): number {
  if (n <= 1 || initial <= 0) return Math.max(0, Math.min(initial, max));
  return Math.min(max, initial * 2 ** (n - 1));
}
