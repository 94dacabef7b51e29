import { describe, expect, it } from 'vitest';
import {
  casual,
  leastRecent,
  roundRobin,
  seededRandom,
  weighted,
  type Candidate,
  type PoolCursor,
  type SelectEnv,
} from '../../../src/machines/balancer/algorithms.js';

function candidates(weights: number[]): Candidate[] {
  return weights.map((weight, position) => ({ position, weight, lastHanded: -1 }));
}

function env(seed = 42, cursor: PoolCursor = { position: -1 }): SelectEnv {
  return { random: seededRandom(seed), cursor };
}

/** Counts how often each index is drawn. */
function draw(live: Candidate[], n: number, pick: (live: Candidate[], e: SelectEnv) => number | object, e = env()): number[] {
  const counts = new Array<number>(live.length).fill(0);
  for (let i = 0; i < n; i++) {
    const chosen = pick(live, e);
    if (typeof chosen !== 'number') throw new Error('no choice');
    counts[chosen] = (counts[chosen] ?? 0) + 1;
  }
  return counts;
}

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
function chiSquare(counts: number[], probabilities: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((sum, observed, i) => {
    const expected = n * (probabilities[i] as number);
    return sum + (observed - expected) ** 2 / expected;
  }, 0);
}

// Critical values of chi-square at p = 0.001: a fair sampler exceeds them once in a thousand seeds.
const CHI2_CRITICAL_3DF = 16.27;
const CHI2_CRITICAL_9DF = 27.88;

describe('selection algorithms', () => {
  it('Weighted should draw in proportion to weight within a chi-square bound over 100,000 draws', () => {
    const weights = [1, 2, 3, 4];
    const counts = draw(candidates(weights), 100_000, weighted);
    const total = weights.reduce((a, b) => a + b, 0);
    expect(chiSquare(counts, weights.map((w) => w / total))).toBeLessThan(CHI2_CRITICAL_3DF);
    // And each share within 1% of its weight, which a reader can check by eye.
    counts.forEach((c, i) => expect(Math.abs(c / 100_000 - (weights[i] as number) / total)).toBeLessThan(0.01));
  });

  it('Weighted should never pick a zero-weight backend while another has weight', () => {
    const counts = draw(candidates([0, 1, 0, 3]), 10_000, weighted);
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
  });

  it('Weighted should return an error, not throw, when every weight is zero', () => {
    expect(weighted(candidates([0, 0]), env())).toEqual({ reason: 'zero_weights', error: expect.stringContaining('weight 0') });
  });

  it('Weighted should cope with a random source that returns exactly 1', () => {
    expect(weighted(candidates([1, 1, 0]), { random: () => 1, cursor: { position: -1 } })).toBe(1);
  });

  it('Casual should cover every live backend, uniformly within a chi-square bound', () => {
    const live = candidates(new Array(10).fill(1));
    const counts = draw(live, 50_000, casual);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(chiSquare(counts, new Array(10).fill(0.1))).toBeLessThan(CHI2_CRITICAL_9DF);
  });

  it('Casual should ignore weights, as stirr did', () => {
    const counts = draw(candidates([100, 1]), 20_000, casual);
    expect(Math.abs((counts[0] as number) / 20_000 - 0.5)).toBeLessThan(0.02);
  });

  it('RoundRobin should cycle through live backends in file order', () => {
    const live = candidates([1, 1, 1]);
    const e = env();
    const picks = Array.from({ length: 7 }, () => roundRobin(live, e));
    expect(picks).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  it('RoundRobin should skip a backend that went down without restarting the cycle', () => {
    const all = candidates([1, 1, 1, 1]);
    const e = env();
    expect([roundRobin(all, e), roundRobin(all, e)]).toEqual([0, 1]);
    const withoutTwo = [all[0]!, all[1]!, all[3]!];
    // Next after position 1 is position 3 (index 2 in the live list), then around.
    expect([roundRobin(withoutTwo, e), roundRobin(withoutTwo, e)].map((i) => withoutTwo[i as number]!.position)).toEqual([3, 0]);
    expect([roundRobin(all, e), roundRobin(all, e), roundRobin(all, e)]).toEqual([1, 2, 3]);
  });

  it('LeastRecent should pick a never-handed backend first, then the one handed out longest ago', () => {
    const live: Candidate[] = [
      { position: 0, weight: 1, lastHanded: 5 },
      { position: 1, weight: 1, lastHanded: -1 },
      { position: 2, weight: 1, lastHanded: 2 },
    ];
    expect(leastRecent(live, env())).toBe(1);
    const handed = live.map((c, i) => (i === 1 ? { ...c, lastHanded: 9 } : c));
    expect(leastRecent(handed, env())).toBe(2);
  });

  it('LeastRecent should break ties in file order', () => {
    expect(leastRecent(candidates([1, 1, 1]), env())).toBe(0);
  });

  it('seededRandom should repeat its draws for a seed and stay within [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
