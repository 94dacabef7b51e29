/**
 * Selection algorithms: which of the live backends of a pool to hand out.
 * Plain functions over a candidate list, called once per request; randomness
 * is injected so distribution tests can seed it. stirr had `Casual` and
 * `Weighted`; `RoundRobin` and `LeastRecent` are steward's.
 */

/** A random number in [0, 1), like Math.random. */
export type Random = () => number;

export interface Candidate {
  /** Position in its pool (the order of the configuration file), stable while the configuration is. */
  readonly position: number;
  readonly weight: number;
  /** Sequence number of the last time it was handed out; -1 if never. */
  readonly lastHanded: number;
}

/** Per-pool memory of the algorithms that need one. */
export interface PoolCursor {
  /** Position of the backend RoundRobin handed out last; -1 before the first. */
  position: number;
}

export interface SelectEnv {
  readonly random: Random;
  readonly cursor: PoolCursor;
}

export type SelectError = { readonly reason: 'zero_weights'; readonly error: string };

/** An index into `live`, or why none can be chosen. `live` is never empty. */
export type Algorithm = (live: readonly Candidate[], env: SelectEnv) => number | SelectError;

function uniformIndex(n: number, random: Random): number {
  // Guards a random source that returns exactly 1 (a test double may).
  return Math.min(n - 1, Math.floor(random() * n));
}

/** stirr's Casual: uniform among live backends, weights ignored. */
export const casual: Algorithm = (live, { random }) => uniformIndex(live.length, random);

/** stirr's Weighted: probability proportional to weight. All-zero weights are an error, not a division by zero. */
export const weighted: Algorithm = (live, { random }) => {
  let total = 0;
  for (let i = 0; i < live.length; i++) total += (live[i] as Candidate).weight;
  if (!(total > 0)) return { reason: 'zero_weights', error: 'every live backend has weight 0' };
  let r = random() * total;
  for (let i = 0; i < live.length; i++) {
    const w = (live[i] as Candidate).weight;
    if (r < w) return i;
    r -= w;
  }
  // Rounding may leave r a hair above the last weight: the last positive one takes it.
  for (let i = live.length - 1; i >= 0; i--) if ((live[i] as Candidate).weight > 0) return i;
  return live.length - 1;
};

/**
 * Each live backend in file order, then around again. The cursor remembers a
 * position, not an index into `live`, so a backend going down or coming back
 * does not restart the cycle.
 */
export const roundRobin: Algorithm = (live, { cursor }) => {
  let chosen = 0;
  for (let i = 0; i < live.length; i++) {
    if ((live[i] as Candidate).position > cursor.position) {
      chosen = i;
      break;
    }
  }
  cursor.position = (live[chosen] as Candidate).position;
  return chosen;
};

/** The live backend handed out longest ago (never handed out first); ties go to file order. */
export const leastRecent: Algorithm = (live) => {
  let best = 0;
  let oldest = (live[0] as Candidate).lastHanded;
  for (let i = 1; i < live.length; i++) {
    const t = (live[i] as Candidate).lastHanded;
    if (t < oldest) {
      oldest = t;
      best = i;
    }
  }
  return best;
};

export const ALGORITHMS = { Casual: casual, Weighted: weighted, RoundRobin: roundRobin, LeastRecent: leastRecent } as const;
export type AlgorithmName = keyof typeof ALGORITHMS;
export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

export function algorithmNamed(name: string): Algorithm | undefined {
  return Object.prototype.hasOwnProperty.call(ALGORITHMS, name) ? ALGORITHMS[name as AlgorithmName] : undefined;
}

/** A seeded random source (mulberry32): the same seed gives the same draws, for tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
