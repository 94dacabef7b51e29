import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { Rejection } from '../../src/protocol/codec.js';
import { eventually } from '../helpers/zmq.js';
import { FUZZ_COUNT, FUZZ_SEED, frameArbOf, framesArb, mutatedArb, mutationArbOf } from './frames.js';
import { TARGETS, type LiveTarget } from './targets.js';

/** Reasons the socket writer counts on the same label: replies to fuzzers that left are not refusals. */
const SEND_REASONS = new Set(['unroutable', 'peer_full', 'send_queue_full', 'send_failed']);
/** A ROUTER's routing id as the decoder sees it: five bytes, the first zero. */
const ROUTING_ID = Buffer.from([0, 1, 2, 3, 4]);
const FUZZERS = 4;
const CHUNK = 1_000;

// Live traffic is sent, not just decoded: frames stay small enough that tens of thousands of messages take seconds.
const liveFrame = frameArbOf(8 * 1024, 2);
const liveMessages = (valid: fc.Arbitrary<Buffer[]>) =>
  fc.oneof(
    { weight: 5, arbitrary: framesArb(24, liveFrame) },
    { weight: 4, arbitrary: mutatedArb(valid, false, mutationArbOf(liveFrame, 8 * 1024)) },
    { weight: 1, arbitrary: valid },
  );

async function counterBy(metrics: Metrics, name: string, socket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    if (String(v.labels['socket']) !== socket) continue;
    const reason = String(v.labels['reason'] ?? '');
    out.set(reason, (out.get(reason) ?? 0) + v.value);
  }
  return out;
}

/** Drops counted on `socket` (the target's by default) since `before`, by reason, the socket writer's own reasons left out. */
async function refusedSince(target: LiveTarget, before: Map<string, number>, socket = target.socket): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [reason, n] of await counterBy(target.metrics, 'steward_dropped_total', socket)) {
    const delta = n - (before.get(reason) ?? 0);
    if (delta > 0 && !SEND_REASONS.has(reason)) out[reason] = delta;
  }
  return out;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

const received = async (t: LiveTarget) => t.metrics.value('steward_messages_received_total', { socket: t.socket });

/** Raw peers that send whatever they are given and read (and count) whatever comes back. */
class Fuzzer {
  private readonly sockets: Array<zmq.Dealer | zmq.Push>;
  replies = 0;
  /** Replies that answer a refusal (see LiveTarget.answeredRefusals). */
  refusalAnswers = 0;

  constructor(
    private readonly target: LiveTarget,
    count: number,
  ) {
    this.sockets = Array.from({ length: count }, (_, i) => {
      const routingId = target.fuzzerIds?.[i];
      const s = target.kind === 'router' ? new zmq.Dealer({ linger: 0, ...(routingId === undefined ? {} : { routingId }) }) : new zmq.Push({ linger: 0 });
      s.connect(target.endpoint);
      if (s instanceof zmq.Dealer) void this.drain(s);
      return s;
    });
  }

  private async drain(socket: zmq.Dealer): Promise<void> {
    try {
      for await (const reply of socket) {
        this.replies += 1;
        if (this.target.answeredRefusals) this.refusalAnswers += this.target.answeredRefusals.count(reply);
      }
    } catch {
      // closed
    }
  }

  /** Which socket sends message `m` of a batch (round robin), for targets that tell their fuzzers apart. */
  senderOf(m: number): number {
    return m % this.sockets.length;
  }

  /** Sends every message, spread over the sockets, each socket one message at a time (zeromq.js allows one pending send). */
  async send(messages: readonly Buffer[][]): Promise<void> {
    await Promise.all(
      this.sockets.map(async (socket, i) => {
        // Socket i sends the messages senderOf gives it.
        for (let m = i; m < messages.length; m += this.sockets.length) await socket.send(messages[m] as Buffer[]);
      }),
    );
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

describe.each(TARGETS)('live fuzzing: $name', (spec) => {
  let target: LiveTarget;
  beforeAll(async () => {
    target = await spec.start();
    await target.check();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it(`should refuse ${FUZZ_COUNT} random and mutated messages with counted drops, and still answer a good client`, async () => {
    const dropsBefore = await counterBy(target.metrics, 'steward_dropped_total', target.socket);
    const after = target.afterDecode;
    const machineBefore = after ? await counterBy(target.metrics, 'steward_dropped_total', after.socket) : new Map<string, number>();
    const receivedBefore = await received(target);
    const predicted = new Map<string, number>();
    let predictedAnswers = 0;
    /** What the machine behind the decoder must drop of what the decoder accepted. */
    const predictedAfter = new Map<string, number>();
    const fuzzer = new Fuzzer(target, FUZZERS);
    const arb = liveMessages(target.valid);
    let sent = 0;
    try {
      for (let chunk = 0; sent < FUZZ_COUNT; chunk++) {
        const messages = fc
          .sample(arb, { seed: FUZZ_SEED + chunk, numRuns: Math.min(CHUNK, FUZZ_COUNT - sent) })
          // ZeroMQ has no empty message; frames above the socket's limit are a separate case below.
          .filter((m) => m.length > 0 && m.every((f) => f.length < target.maxMessageSize));
        for (const [k, m] of messages.entries()) {
          const delivered = target.kind === 'router' ? [ROUTING_ID, ...m] : m;
          predictedAnswers += target.answeredRefusals?.predict(delivered) ?? 0;
          const verdict = target.decode(delivered);
          if (verdict.type === 'rejected') {
            const { reason } = verdict as Rejection;
            predicted.set(reason, (predicted.get(reason) ?? 0) + 1);
            continue;
          }
          for (const reason of after?.predict(delivered, target.fuzzerIds?.[fuzzer.senderOf(k)]) ?? []) predictedAfter.set(reason, (predictedAfter.get(reason) ?? 0) + 1);
        }
        await fuzzer.send(messages);
        sent += messages.length;
      }
      // Every message reaches the decoder (the good peers' own traffic, heartbeats and such, comes on top).
      await eventually(async () => (await received(target)) - receivedBefore >= sent, 30_000, 50);
      const refusedTotal = [...predicted.values()].reduce((a, n) => a + n, 0);
      if (target.answersEveryAccepted) {
        // Whatever was not refused was answered: a stirr or keywords client never waits for nothing.
        await eventually(() => fuzzer.replies >= sent - refusedTotal, 10_000, 50).catch(() => undefined);
        expect(fuzzer.replies).toBe(sent - refusedTotal);
      }
      if (target.answeredRefusals) {
        // Refusals the target can address are answered, each once: a broker client hears 400, not silence.
        await eventually(() => fuzzer.refusalAnswers >= predictedAnswers, 10_000, 50).catch(() => undefined);
        expect(fuzzer.refusalAnswers).toBe(predictedAnswers);
      }
      // The counters account for exactly what the target's own decoder refuses, reason by reason.
      const expected = Object.fromEntries(predicted);
      await eventually(async () => sameCounts(await refusedSince(target, dropsBefore), expected), 5_000, 50).catch(() => undefined);
      expect(await refusedSince(target, dropsBefore)).toEqual(expected);
      let machine = '';
      if (after) {
        // And the machine behind it drops exactly what it must of the rest, on its own label.
        const expectedAfter = Object.fromEntries(predictedAfter);
        await eventually(async () => sameCounts(await refusedSince(target, machineBefore, after.socket), expectedAfter), 5_000, 50).catch(() => undefined);
        expect(await refusedSince(target, machineBefore, after.socket)).toEqual(expectedAfter);
        machine = `, then ${[...predictedAfter.values()].reduce((a, n) => a + n, 0)} dropped by ${after.socket} ${JSON.stringify(expectedAfter)}`;
      }
      const answeredRefusals = target.answeredRefusals ? `, ${fuzzer.refusalAnswers} of them refusals (${predictedAnswers} predicted)` : '';
      console.log(`${spec.name}: ${sent} messages, ${refusedTotal} refused by reason ${JSON.stringify(expected)}${machine}, ${fuzzer.replies} answers to the fuzzers${answeredRefusals}`);
    } finally {
      fuzzer.close();
    }
    await target.check();
  });

  it('should survive frames above its message size limit (libzmq cuts the sender off) and still answer', async () => {
    const fuzzer = new Fuzzer(target, 1);
    try {
      const huge = Buffer.alloc(target.maxMessageSize + 1, 0x41);
      await fuzzer.send([[Buffer.alloc(0), huge], [huge], [Buffer.from('KWP1'), huge, huge]]);
      await target.check();
    } finally {
      fuzzer.close();
    }
  });
});
