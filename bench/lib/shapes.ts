/**
 * The request shapes steward's client/broker/worker suites measure (compare, dealer): 1 or 4 workers,
 * 1 or 100 requests in flight, 16-byte or 16-KiB bodies.
 */
export interface Case {
  readonly workers: 1 | 4;
  readonly inFlight: 1 | 100;
  readonly bytes: number;
}

export const CASES: readonly Case[] = [1, 4].flatMap((workers) =>
  [1, 100].flatMap((inFlight) => [16, 16 * 1024].map((bytes) => ({ workers: workers as 1 | 4, inFlight: inFlight as 1 | 100, bytes }))),
);

/** A shape as a key of a results record. */
export const caseKey = (c: Case) => `${c.workers}w.${c.inFlight}.${c.bytes}`;

export const sizeName = (bytes: number) => (bytes >= 1024 ? `${bytes / 1024}-KiB` : `${bytes}-byte`);

/** "1 worker, 100 in flight, 16-byte body", as the rows name a shape. */
export const shapeName = (c: Case) => `${c.workers} worker${c.workers > 1 ? 's' : ''}, ${c.inFlight} in flight, ${sizeName(c.bytes)} body`;
