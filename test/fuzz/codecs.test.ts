import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODECS, badReason, type CodecUnderFuzz, type DecodeResult } from './codecs.js';
import { FUZZ_RUNS, FUZZ_SEED, framesArb, mutatedArb, peerArb } from './frames.js';

/** What is wrong with the decoder's answer to these frames, or undefined when nothing is. */
function fault(codec: CodecUnderFuzz, frames: Buffer[]): string | undefined {
  let result: DecodeResult;
  try {
    result = codec.decode(frames);
  } catch (error) {
    return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  }
  if (typeof result !== 'object' || result === null || typeof result.type !== 'string') return `returned ${String(result)}`;
  if (!codec.accepted.includes(result.type) && !codec.refused.includes(result.type)) return `returned unknown type ${result.type}`;
  return badReason(result) ?? codec.checkRefusal?.(result);
}

const options = (offset: number) => ({ seed: FUZZ_SEED + offset, numRuns: FUZZ_RUNS });

describe.each(CODECS.map((c, i) => ({ ...c, offset: i * 10 })))('codec fuzzing: $name', (codec) => {
  const random = codec.routed ? fc.tuple(peerArb, framesArb()).map(([p, f]) => [p, ...f]) : framesArb();

  it('should answer random frames with a typed message or a typed refusal, never a throw', () => {
    fc.assert(
      fc.property(random, (frames) => {
        const problem = fault(codec, frames);
        if (problem) throw new Error(problem);
      }),
      options(codec.offset),
    );
  });

  it('should answer mutated well-formed messages (truncated, extended, garbage after valid headers) without throwing', () => {
    fc.assert(
      fc.property(mutatedArb(codec.valid, codec.routed), (frames) => {
        const problem = fault(codec, frames);
        if (problem) throw new Error(problem);
      }),
      options(codec.offset + 1),
    );
  });

  it('should accept every well-formed message', () => {
    fc.assert(
      fc.property(codec.valid, (frames) => {
        const result = codec.decode(frames);
        expect(codec.accepted).toContain(result.type);
      }),
      options(codec.offset + 2),
    );
  });

  it('should leave the frames it was given untouched (bodies are opaque and may be forwarded)', () => {
    fc.assert(
      fc.property(fc.oneof(random, mutatedArb(codec.valid, codec.routed)), (frames) => {
        const before = frames.map((f) => Buffer.from(f));
        codec.decode(frames);
        // Buffer.equals: a deep toEqual over 70 kB frames costs seconds per run.
        const same = frames.length === before.length && frames.every((f, i) => f.equals(before[i] as Buffer));
        if (!same) throw new Error('the decoder changed its input');
      }),
      options(codec.offset + 3),
    );
  });

  it('should answer an empty message', () => {
    expect(fault(codec, [])).toBeUndefined();
  });
});
