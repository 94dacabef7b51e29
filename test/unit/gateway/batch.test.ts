import fc from 'fast-check';
import type { AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import { GatewayOutbox } from '../../../src/actors/gateway-outbox.js';
import { BATCH, BATCH_INLINE_MAX, BATCH_MAX_BYTES, packUnits, planBatches, unitSize, unpackUnits, type BatchUnit } from '../../../src/protocol/blastbeat/batch.js';
import { BACKEND_KINDS, GATEWAY_KINDS, KIND_FRAME, decodeBackendFrames, decodeGatewayFrames, type GatewayOutbound } from '../../../src/protocol/blastbeat/message.js';

const b = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);

function pack(units: readonly BatchUnit[]): Buffer {
  return packUnits(units, 0, units.length, units.reduce((n, u) => n + unitSize(u), 0));
}

function unpack(packed: Buffer): BatchUnit[] | string {
  const out: BatchUnit[] = [];
  const problem = unpackUnits(packed, 255, (sid, kind, body) => out.push([sid, kind, body]));
  return problem === undefined ? out : problem.reason;
}

const unit = (kinds: readonly string[]) =>
  fc.tuple(fc.uint8Array({ maxLength: 32 }), fc.constantFrom(...kinds), fc.uint8Array({ maxLength: 300 })).map(
    ([sid, kind, body]): BatchUnit => [Buffer.from(sid), b(kind), Buffer.from(body)],
  );

describe('batch units (steward extension to the BlastBeat wire)', () => {
  it('should give back every unit packed, in order, bytes for bytes', () => {
    fc.assert(
      fc.property(fc.array(unit(BACKEND_KINDS), { minLength: 1, maxLength: 20 }), (units) => {
        expect(unpack(pack(units))).toEqual(units);
      }),
    );
  });

  it('should refuse a batch whole when a unit is truncated, overruns, or has an oversized sid', () => {
    const good = pack([[b('s1'), b('body'), b('hello')], [b('s2'), b('end'), EMPTY]]);
    for (let cut = 1; cut < good.length; cut++) {
      // Some cuts land on a unit boundary and leave a shorter, well-formed batch.
      const result = unpack(good.subarray(0, cut));
      if (typeof result !== 'string') expect(result.length).toBe(1);
    }
    expect(unpack(good.subarray(0, good.length - 1))).toBe('bad_batch');
    expect(unpack(EMPTY)).toBe('bad_batch');
    const overrun = Buffer.from(good);
    overrun.writeUInt32BE(1_000_000, 1 + 2 + 1 + 4);
    expect(unpack(overrun)).toBe('bad_batch');
    const bigSid = pack([[Buffer.alloc(200, 1), b('body'), EMPTY]]);
    const out: unknown[] = [];
    expect(unpackUnits(bigSid, 16, () => out.push(1))?.reason).toBe('bad_batch');
    expect(out).toEqual([]);
  });

  it('should never throw on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        unpack(Buffer.from(bytes));
      }),
    );
  });

  it('should send a lone unit and a big body as plain messages, small runs packed, in order', () => {
    const small = (i: number): BatchUnit => [b(`s${i}`), KIND_FRAME.body, b(`x${i}`)];
    const big: BatchUnit = [b('big'), KIND_FRAME.body, Buffer.alloc(BATCH_INLINE_MAX + 1)];
    const seen: string[] = [];
    const order: BatchUnit[] = [];
    planBatches([small(1), small(2), big, small(3), small(4), small(5), big, small(6)], (m) => {
      if ('plain' in m) {
        seen.push(`plain:${m.plain[0].toString()}`);
        order.push(m.plain);
      } else {
        const units = unpack(m.packed) as BatchUnit[];
        seen.push(`batch:${units.length}`);
        order.push(...units);
      }
    });
    expect(seen).toEqual(['batch:2', 'plain:big', 'batch:3', 'plain:big', 'plain:s6']);
    expect(order.map((u) => u[0].toString())).toEqual(['s1', 's2', 'big', 's3', 's4', 's5', 'big', 's6']);
  });

  it('should close a batch at its size limit and begin another', () => {
    const units: BatchUnit[] = Array.from({ length: 40 }, (_, i) => [b(`s${i}`), KIND_FRAME.body, Buffer.alloc(BATCH_INLINE_MAX - 100)]);
    const sizes: number[] = [];
    let count = 0;
    planBatches(units, (m) => {
      const packed = 'packed' in m ? m.packed : undefined;
      if (packed) {
        expect(packed.length).toBeLessThanOrEqual(BATCH_MAX_BYTES);
        sizes.push(packed.length);
        count += (unpack(packed) as BatchUnit[]).length;
      } else count += 1;
    });
    expect(sizes.length).toBeGreaterThan(1);
    expect(count).toBe(40);
  });
});

describe('batches in the gateway codecs', () => {
  it('should decode a node batch to its messages, all from the sending node', () => {
    const packed = pack([[b('s1'), b('headers'), b('HTTP/1.1 200 OK\r\n\r\n')], [EMPTY, b('pong'), BATCH]]);
    const decoded = decodeBackendFrames([b('n1'), EMPTY, BATCH, packed]);
    expect(decoded).toMatchObject([
      { type: 'backend.message', node: b('n1'), sid: b('s1'), kind: 'headers' },
      { type: 'backend.message', node: b('n1'), sid: EMPTY, kind: 'pong', body: BATCH },
    ]);
  });

  it('should refuse a batch with a unit of an unknown type, a nested batch, or under a sid', () => {
    expect(decodeBackendFrames([b('n1'), EMPTY, BATCH, pack([[b('s'), b('body'), EMPTY], [b('s'), b('uwsgi'), EMPTY]])])).toMatchObject({ reason: 'bad_batch' });
    expect(decodeBackendFrames([b('n1'), EMPTY, BATCH, pack([[EMPTY, BATCH, EMPTY]])])).toMatchObject({ reason: 'bad_batch' });
    expect(decodeBackendFrames([b('n1'), b('s1'), BATCH, pack([[b('s'), b('body'), EMPTY]])])).toMatchObject({ reason: 'unknown_type' });
    expect(decodeBackendFrames([b('n1'), EMPTY, BATCH, EMPTY])).toMatchObject({ reason: 'bad_batch' });
  });

  it('should decode a gateway batch on the node side with the gateway type table', () => {
    const units: BatchUnit[] = GATEWAY_KINDS.map((k, i) => [b(`s${i}`), b(k), b(`body${i}`)]);
    const decoded = decodeGatewayFrames([EMPTY, BATCH, pack(units)]);
    expect(Array.isArray(decoded)).toBe(true);
    expect((decoded as readonly { kind: string }[]).map((m) => m.kind)).toEqual([...GATEWAY_KINDS]);
    expect(decodeGatewayFrames([EMPTY, BATCH, pack([[b('s'), b('headers'), EMPTY]])])).toMatchObject({ reason: 'bad_batch' });
  });
});

describe('GatewayOutbox', () => {
  /** Stands in for the ROUTER adapter: records the `zmq.send` commands it is given. */
  function recorder() {
    const sent: GatewayOutbound[][] = [];
    const ref = {
      getSnapshot: () => ({ status: 'active' }),
      send: (command: { type: string; messages: GatewayOutbound[] }) => sent.push(command.messages),
    } as unknown as AnyActorRef;
    return { sent, ref };
  }

  it('should pack one turn of messages per node that reads batches, and leave the others plain', () => {
    const { sent, ref } = recorder();
    const batchNode = b('fast');
    const plainNode = b('plain');
    const outbox = new GatewayOutbox(() => ref, undefined, (node) => node.equals(batchNode));
    outbox.push(batchNode, b('a'), 'uwsgi', b('A'));
    outbox.push(plainNode, b('p'), 'uwsgi', b('P'));
    outbox.push(batchNode, b('b'), 'uwsgi', b('B'));
    outbox.push(plainNode, b('q'), 'end', EMPTY);
    outbox.push(batchNode, b('a'), 'body', b('A2'));
    outbox.flush();
    expect(sent).toHaveLength(1);
    const messages = sent[0] as GatewayOutbound[];
    const toFast = messages.filter((m) => m[0].equals(batchNode));
    const toPlain = messages.filter((m) => m[0].equals(plainNode));
    expect(toFast).toHaveLength(1);
    expect(toFast[0]?.[2]).toEqual(BATCH);
    expect((unpack(toFast[0]?.[3] as Buffer) as BatchUnit[]).map((u) => `${u[0]}:${u[1]}:${u[2]}`)).toEqual(['a:uwsgi:A', 'b:uwsgi:B', 'a:body:A2']);
    expect(toPlain.map((m) => `${m[1]}:${m[2]}`)).toEqual(['p:uwsgi', 'q:end']);
  });

  it('should send a lone message as it is, even to a node that reads batches', () => {
    const { sent, ref } = recorder();
    const outbox = new GatewayOutbox(() => ref, undefined, () => true);
    outbox.push(b('n'), b('a'), 'uwsgi', b('A'));
    outbox.flush();
    expect(sent).toEqual([[[b('n'), b('a'), KIND_FRAME.uwsgi, b('A')]]]);
  });
});
