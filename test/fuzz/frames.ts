/**
 * Arbitraries for hostile multipart messages: random frames, and valid
 * messages mutated the ways a broken or malicious peer mangles them
 * (truncated, extended, bytes flipped, frames dropped, swapped, duplicated,
 * garbage after valid headers). Shared by the codec properties and the live
 * fuzzers, so both explore the same space.
 */
import fc from 'fast-check';

/** Runs per property; FUZZ_RUNS raises it for longer runs. */
export const FUZZ_RUNS = positiveInt(process.env['FUZZ_RUNS'], 500);
/** Messages per live endpoint; FUZZ_COUNT raises it for longer runs. */
export const FUZZ_COUNT = positiveInt(process.env['FUZZ_COUNT'], 20_000);
/** One seed for everything, printed on failure by fast-check; FUZZ_SEED reproduces a run. */
export const FUZZ_SEED = positiveInt(process.env['FUZZ_SEED'], 20240608);

function positiveInt(text: string | undefined, fallback: number): number {
  const n = text === undefined ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Protocol tokens a random frame should hit often, so decoders get past their first checks. */
export const TOKENS: readonly Buffer[] = [
  '',
  'MDPC01',
  'MDPW01',
  'MDPC02',
  'MDPW02',
  'KWP1',
  'STW1:1',
  'EBv1:abc',
  '0.3.0:x:y',
  'mmi.service',
  'mmi.services',
  'mmi.echo',
  'echo',
  'ok',
  'register',
  'heartbeat',
  'unregister',
  'lookup',
  'list',
  'update',
  'modify',
  'identify',
  'enumerate',
  'sync',
  'broadcast',
  '0',
  '1',
  '16',
  '10001',
  '99999999999999999',
  '1700000000000',
  '{}',
  '[]',
  '{"group":"default"}',
  '{"method":"x","args":[],"kwargs":{}}',
  '500:exception:{"name":"E"}',
  '404',
  'null',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  'tcp://127.0.0.1:1',
].map((t) => Buffer.from(t)).concat([0, 1, 2, 3, 4, 5, 6, 0xff].map((b) => Buffer.from([b])));

/** Mostly short frames, sometimes empty, sometimes a protocol token, rarely large (up to `maxBig` bytes). */
export function frameArbOf(maxBig: number, bigWeight = 10): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...TOKENS) },
    { weight: 40, arbitrary: fc.uint8Array({ maxLength: 16 }).map(buf) },
    { weight: 20, arbitrary: fc.uint8Array({ minLength: 17, maxLength: 300 }).map(buf) },
    { weight: 10, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((s) => Buffer.from(s, 'latin1')) },
    { weight: bigWeight, arbitrary: fc.integer({ min: 301, max: maxBig }).map((n) => Buffer.alloc(n, 0x5b)) },
  );
}

/** For pure decoders: large frames are cheap, so they come often and go past the 64 kB limits. */
export const frameArb: fc.Arbitrary<Buffer> = frameArbOf(70_000);

/** A message of 1..maxFrames frames (a ZeroMQ message has at least one). */
export function framesArb(maxFrames = 24, frame: fc.Arbitrary<Buffer> = frameArb): fc.Arbitrary<Buffer[]> {
  return fc.oneof(
    { weight: 9, arbitrary: fc.array(frame, { minLength: 1, maxLength: maxFrames }) },
    // Past every frame-count limit steward sets (256 is the largest).
    { weight: 1, arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => Array.from({ length: n }, () => Buffer.from('x'))) },
  );
}

export type Mutation =
  | { readonly kind: 'flip'; readonly frame: number; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly frame: number; readonly keep: number }
  | { readonly kind: 'drop'; readonly frame: number }
  | { readonly kind: 'duplicate'; readonly frame: number }
  | { readonly kind: 'insert'; readonly frame: number; readonly data: Buffer }
  | { readonly kind: 'append'; readonly data: readonly Buffer[] }
  | { readonly kind: 'swap'; readonly a: number; readonly b: number }
  | { readonly kind: 'empty'; readonly frame: number }
  | { readonly kind: 'grow'; readonly frame: number; readonly by: number }
  | { readonly kind: 'cut'; readonly keep: number };

const index = fc.nat({ max: 64 });

export function mutationArbOf(frame: fc.Arbitrary<Buffer>, maxGrow: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), frame: index, at: fc.nat({ max: 4096 }), value: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), frame: index, keep: fc.nat({ max: 32 }) }),
    fc.record({ kind: fc.constant('drop' as const), frame: index }),
    fc.record({ kind: fc.constant('duplicate' as const), frame: index }),
    fc.record({ kind: fc.constant('insert' as const), frame: index, data: frame }),
    fc.record({ kind: fc.constant('append' as const), data: fc.array(frame, { minLength: 1, maxLength: 6 }) }),
    fc.record({ kind: fc.constant('swap' as const), a: index, b: index }),
    fc.record({ kind: fc.constant('empty' as const), frame: index }),
    fc.record({ kind: fc.constant('grow' as const), frame: index, by: fc.integer({ min: 1, max: maxGrow }) }),
    fc.record({ kind: fc.constant('cut' as const), keep: fc.nat({ max: 8 }) }),
  );
}

export const mutationArb: fc.Arbitrary<Mutation> = mutationArbOf(frameArb, 70_000);

/**
 * Applies mutations to a copy; frame 0 (the routing id a ROUTER adds) is
 * left alone when `keepFirst`, since no peer can forge it.
 */
export function mutate(frames: readonly Buffer[], mutations: readonly Mutation[], keepFirst: boolean): Buffer[] {
  const first: Buffer[] = keepFirst ? frames.slice(0, 1) : [];
  let out: Buffer[] = (keepFirst ? frames.slice(1) : frames.slice()).map((f) => Buffer.from(f));
  const at = (i: number) => (out.length === 0 ? 0 : i % out.length);
  for (const m of mutations) {
    switch (m.kind) {
      case 'flip': {
        const f = out[at(m.frame)];
        if (f && f.length > 0) f[m.at % f.length] = m.value;
        break;
      }
      case 'truncate': {
        const i = at(m.frame);
        const f = out[i];
        if (f) out[i] = f.subarray(0, Math.min(m.keep, f.length));
        break;
      }
      case 'drop':
        if (out.length > 0) out.splice(at(m.frame), 1);
        break;
      case 'duplicate': {
        const f = out[at(m.frame)];
        if (f) out.splice(at(m.frame), 0, Buffer.from(f));
        break;
      }
      case 'insert':
        out.splice(at(m.frame), 0, m.data);
        break;
      case 'append':
        out = out.concat(m.data);
        break;
      case 'swap': {
        const a = at(m.a);
        const b = at(m.b);
        const fa = out[a];
        const fb = out[b];
        if (fa && fb) {
          out[a] = fb;
          out[b] = fa;
        }
        break;
      }
      case 'empty': {
        const i = at(m.frame);
        if (out[i]) out[i] = Buffer.alloc(0);
        break;
      }
      case 'grow': {
        const i = at(m.frame);
        const f = out[i];
        if (f) out[i] = Buffer.concat([f, Buffer.alloc(m.by, 0x41)]);
        break;
      }
      case 'cut':
        out = out.slice(0, m.keep);
        break;
    }
  }
  return first.concat(out);
}

/** A valid message, mangled by 1..4 mutations. */
export function mutatedArb(valid: fc.Arbitrary<Buffer[]>, keepFirst: boolean, mutation: fc.Arbitrary<Mutation> = mutationArb): fc.Arbitrary<Buffer[]> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([frames, ms]) => mutate(frames, ms, keepFirst));
}

/** What a ROUTER puts in front of a peer's frames. */
export const peerArb: fc.Arbitrary<Buffer> = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((u) => Buffer.concat([Buffer.from([0]), buf(u)]));

export const b = (s: string) => Buffer.from(s, 'latin1');
