/**
 * steward's batch extension to the BlastBeat wire: many `[sid, type, body]`
 * messages packed into one ZeroMQ message `[empty sid, 'batch', units]`.
 * zeromq.js costs a few microseconds per message and per frame, which was
 * most of the gateway's CPU per request; one message per burst per node
 * makes that cost per burst instead (the broker's compact wire did the same).
 *
 * Each unit: `u8 sid length | sid | u8 type length | type | u32 BE body length | body`.
 *
 * Negotiated, so BlastBeat nodes never see it: a side sends batches only to
 * a peer that said it reads them, the node with its `pong` body `batch`, the
 * gateway with its `ping` body `batch` (or by sending a batch). A batch is
 * refused whole when any unit is malformed: never realigned, as with frames.
 * Pure: no sockets.
 */
import { reject, type Rejection } from '../codec.js';

/** The type frame of a batch, and the body of a `pong`/`ping` that offers to read them. */
export const BATCH = Buffer.from('batch');

/** Units with bodies above this leave as plain messages: copying them into a batch costs more than a message. */
export const BATCH_INLINE_MAX = 16 * 1024;
/** A batch is closed at this size and a new one begun, so one burst cannot make one huge allocation. */
export const BATCH_MAX_BYTES = 256 * 1024;

const UNIT_OVERHEAD = 1 + 1 + 4;

export function isBatchOffer(body: Buffer): boolean {
  return body.length === BATCH.length && body.equals(BATCH);
}

/** One unit as it is packed: the type frame is one of the preallocated type buffers. */
export type BatchUnit = readonly [sid: Buffer, kind: Buffer, body: Buffer];

export function unitSize(unit: BatchUnit): number {
  return UNIT_OVERHEAD + unit[0].length + unit[1].length + unit[2].length;
}

/** Packs `units[from, to)` into one batch body of `bytes` bytes (the sum of their `unitSize`). */
export function packUnits(units: readonly BatchUnit[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = from; i < to; i++) {
    const [sid, kind, body] = units[i] as BatchUnit;
    out[at++] = sid.length;
    sid.copy(out, at);
    at += sid.length;
    out[at++] = kind.length;
    kind.copy(out, at);
    at += kind.length;
    out.writeUInt32BE(body.length, at);
    at += 4;
    body.copy(out, at);
    at += body.length;
  }
  return out;
}

/**
 * Walks a batch body, handing each unit to `visit` (bodies are views into
 * `packed`, not copies). Returns a Rejection, before visiting anything, when
 * any unit is truncated or too long: the batch is checked whole first so a
 * bad one never delivers half its units.
 */
export function unpackUnits(
  packed: Buffer,
  maxSidLength: number,
  visit: (sid: Buffer, kind: Buffer, body: Buffer) => void,
): Rejection | undefined {
  if (packed.length === 0) return reject('bad_batch', 'empty');
  const problem = checkUnits(packed, maxSidLength);
  if (problem !== undefined) return problem;
  let at = 0;
  while (at < packed.length) {
    const sidLength = packed[at] as number;
    const sid = packed.subarray(at + 1, at + 1 + sidLength);
    at += 1 + sidLength;
    const kindLength = packed[at] as number;
    const kind = packed.subarray(at + 1, at + 1 + kindLength);
    at += 1 + kindLength;
    const bodyLength = packed.readUInt32BE(at);
    at += 4;
    visit(sid, kind, packed.subarray(at, at + bodyLength));
    at += bodyLength;
  }
  return undefined;
}

function checkUnits(packed: Buffer, maxSidLength: number): Rejection | undefined {
  let at = 0;
  let index = 0;
  while (at < packed.length) {
    const sidLength = packed[at] as number;
    if (sidLength > maxSidLength) return reject('bad_batch', `unit ${index}: sid of ${sidLength} bytes`);
    at += 1 + sidLength;
    if (at >= packed.length) return reject('bad_batch', `unit ${index}: truncated`);
    const kindLength = packed[at] as number;
    at += 1 + kindLength;
    if (kindLength === 0 || at + 4 > packed.length) return reject('bad_batch', `unit ${index}: truncated`);
    const bodyLength = packed.readUInt32BE(at);
    at += 4 + bodyLength;
    if (at > packed.length) return reject('bad_batch', `unit ${index}: body of ${bodyLength} bytes overruns the batch`);
    index += 1;
  }
  return undefined;
}

/**
 * Splits messages for one peer into what goes on the wire, in order: runs of
 * small units as batches, a lone unit or a big one as itself. `emit` gets
 * either a plain unit or a packed batch body.
 */
export function planBatches(
  units: readonly BatchUnit[],
  emit: (message: { readonly plain: BatchUnit } | { readonly packed: Buffer }) => void,
): void {
  let start = 0;
  let bytes = 0;
  const close = (end: number) => {
    if (end - start === 1) emit({ plain: units[start] as BatchUnit });
    else if (end > start) emit({ packed: packUnits(units, start, end, bytes) });
    start = end;
    bytes = 0;
  };
  for (let i = 0; i < units.length; i++) {
    const unit = units[i] as BatchUnit;
    if (unit[2].length > BATCH_INLINE_MAX) {
      close(i);
      emit({ plain: unit });
      start = i + 1;
      continue;
    }
    const size = unitSize(unit);
    if (bytes + size > BATCH_MAX_BYTES) close(i);
    bytes += size;
  }
  close(units.length);
}
