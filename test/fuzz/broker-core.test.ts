/**
 * The broker's delivery promises, checked on the routing core under random
 * interleavings of everything peers and time can do: requests (some already
 * expired), workers registering, re-registering, replying, replying twice,
 * replying with forged envelopes, leaving, falling silent, and heartbeat
 * ticks. After every step:
 *   - a request is handed to a worker at most once (at most once per attempt);
 *   - an attempt is answered at most once (never twice);
 *   - a successful answer carries that attempt's own reply (never another's);
 *   - an expired request is never handed out, and each service's requests are
 *     handed out in the order they arrived (FIFO; replies may still overtake).
 * And once every worker has gone silent and time has passed, every attempt has
 * been answered exactly once: nothing the broker accepted is stranded.
 */
import fc from 'fast-check';
import type { Rejection } from '../../src/protocol/codec.js';
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, type BrokerInbound } from '../../src/protocol/broker-wire.js';
import { MdpCommand, workerDisconnect, workerHeartbeat, workerReady, workerReply } from '../../src/protocol/mdp.js';
import { Status } from '../../src/protocol/status.js';
import { taggedRequest } from '../../src/protocol/tagged.js';
import { FUZZ_RUNS, FUZZ_SEED } from './frames.js';

const HEARTBEAT = 100;
const LIVENESS = 3;
const SERVICES = ['a', 'b'] as const;
const WORKERS = 4;
const CLIENTS = 3;

type Action =
  | { kind: 'request'; client: number; service: 0 | 1; ttl: number }
  | { kind: 'ready'; worker: number; service: 0 | 1; credit: number }
  | { kind: 'reply'; worker: number; pick: number }
  | { kind: 'replyAgain'; worker: number }
  | { kind: 'forged'; worker: number; token: number }
  | { kind: 'heartbeat'; worker: number }
  | { kind: 'disconnect'; worker: number }
  /** The worker stops (or resumes) its heartbeats, as a frozen process would. */
  | { kind: 'freeze'; worker: number; frozen: boolean }
  | { kind: 'tick'; dt: number };

const worker = fc.nat({ max: WORKERS - 1 });
const service = fc.constantFrom(0 as const, 1 as const);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('request' as const), client: fc.nat({ max: CLIENTS - 1 }), service, ttl: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: -50, max: -1 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ready' as const), worker, service, credit: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reply' as const), worker, pick: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replyAgain' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('forged' as const), worker, token: fc.nat({ max: 12 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeze' as const), worker, frozen: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 1, max: 150 }) }) },
);

function decode(frames: Buffer[]): BrokerInbound {
  const m = decodeBrokerFrames(frames);
  // The test builds MDP and tagged messages, which decode to one message each.
  if (Array.isArray(m)) throw new Error('test built a batch');
  const single = m as BrokerInbound | Rejection;
  if (single.type === 'rejected') throw new Error(`test built a bad message: ${single.reason}`);
  return single;
}

/** The peers' side of the conversation, and what the broker told each of them. */
class World {
  readonly core = new BrokerCore({ heartbeatIntervalMs: HEARTBEAT, liveness: LIVENESS, maxQueuePerService: 5 });
  now = 1_000_000;
  private seq = 0;
  /** Requests each worker holds, as the broker sent them: envelope and body. */
  readonly holds: Array<Array<{ envelope: Buffer; body: Buffer[] }>> = Array.from({ length: WORKERS }, () => []);
  readonly lastReply: Array<Buffer[] | undefined> = Array.from({ length: WORKERS }, () => undefined);
  /** Workers that said READY at least once and are not frozen heartbeat on every tick. */
  readonly beating = new Set<number>();
  readonly frozen = new Set<number>();
  readonly sentToWorkers = new Map<number, number>();
  readonly answers = new Map<string, Array<{ status: number; body: string[] }>>();
  readonly attempts = new Set<string>();
  /** Deadline and arrival number of each attempt, and the last arrival number handed out per service. */
  private readonly meta = new Map<string, { deadline: number; n: number; service: number }>();
  private readonly lastHanded = [-1, -1];
  readonly problems: string[] = [];

  private workerId = (w: number) => Buffer.from(`W${w}`);

  step(a: Action): void {
    switch (a.kind) {
      case 'request': {
        const n = this.seq++;
        const id = `c${a.client}-${n}`;
        this.attempts.add(id);
        this.meta.set(id, { deadline: this.now + a.ttl, n, service: a.service });
        const frames = taggedRequest('STW1', id, SERVICES[a.service], this.now + a.ttl, [Buffer.from(id)]);
        this.core.handle([decode([Buffer.from(`C${a.client}`), ...frames])], 'sock', this.now);
        break;
      }
      case 'ready':
        this.beating.add(a.worker);
        this.core.handle([decode([this.workerId(a.worker), ...workerReady(SERVICES[a.service], a.credit)])], 'sock', this.now);
        break;
      case 'reply': {
        const held = this.holds[a.worker] as Array<{ envelope: Buffer; body: Buffer[] }>;
        if (held.length === 0) break;
        const [r] = held.splice(a.pick % held.length, 1);
        if (!r) break;
        // The worker echoes the body: the client's attempt id. The broker must route it to that attempt.
        const frames = [this.workerId(a.worker), ...workerReply(r.envelope, r.body)];
        this.lastReply[a.worker] = frames;
        this.core.handle([decode(frames)], 'sock', this.now);
        break;
      }
      case 'replyAgain': {
        const frames = this.lastReply[a.worker];
        if (frames) this.core.handle([decode(frames)], 'sock', this.now);
        break;
      }
      case 'forged': {
        // An envelope this worker was not given (maybe another worker's): a worker's reply to
        // what it does hold is its own business, whatever the body says.
        const held = this.holds[a.worker] as Array<{ envelope: Buffer }>;
        if (held.some((r) => r.envelope.readUInt32BE(0) === a.token)) break;
        const envelope = Buffer.alloc(4);
        envelope.writeUInt32BE(a.token, 0);
        this.core.handle([decode([this.workerId(a.worker), ...workerReply(envelope, [Buffer.from('forged')])])], 'sock', this.now);
        break;
      }
      case 'heartbeat':
        this.core.handle([decode([this.workerId(a.worker), ...workerHeartbeat()])], 'sock', this.now);
        break;
      case 'disconnect':
        this.core.handle([decode([this.workerId(a.worker), ...workerDisconnect()])], 'sock', this.now);
        break;
      case 'freeze':
        if (a.frozen) this.frozen.add(a.worker);
        else this.frozen.delete(a.worker);
        break;
      case 'tick':
        this.now += a.dt;
        for (const w of this.beating) {
          if (!this.frozen.has(w)) this.core.handle([decode([this.workerId(w), ...workerHeartbeat()])], 'sock', this.now);
        }
        this.core.tick(this.now);
        break;
    }
    this.observe();
  }

  /** Reads what the broker sent, checking the promises as it goes. */
  private observe(): void {
    for (const frames of this.core.out.get('sock') ?? []) {
      const peer = (frames[0] as Buffer).toString('latin1');
      if (peer.startsWith('W')) {
        const w = Number(peer.slice(1));
        if (frames[3]?.[0] !== MdpCommand.Request) continue;
        const envelope = frames[4] as Buffer;
        const token = envelope.readUInt32BE(0);
        const n = (this.sentToWorkers.get(token) ?? 0) + 1;
        this.sentToWorkers.set(token, n);
        if (n > 1) this.problems.push(`request token ${token} handed to a worker ${n} times`);
        (this.holds[w] as Array<{ envelope: Buffer; body: Buffer[] }>).push({ envelope, body: frames.slice(6) });
        const m = this.meta.get(String(frames[6]));
        if (!m) continue;
        if (m.deadline <= this.now) this.problems.push(`request ${String(frames[6])} handed out ${this.now - m.deadline} ms after it expired`);
        if (m.n <= (this.lastHanded[m.service] as number)) this.problems.push(`request ${String(frames[6])} handed out after a later one of its service`);
        this.lastHanded[m.service] = m.n;
      } else {
        const id = (frames[2] as Buffer).toString('latin1').slice('STW1:'.length);
        const status = Number((frames[3] as Buffer).toString());
        const body = frames.slice(4).map(String);
        const list = this.answers.get(id) ?? [];
        list.push({ status, body });
        this.answers.set(id, list);
        if (list.length > 1) this.problems.push(`attempt ${id} answered ${list.length} times (${list.map((x) => x.status).join(', ')})`);
        if (status === Status.Ok && (body.length !== 1 || body[0] !== id)) this.problems.push(`attempt ${id} got the reply ${JSON.stringify(body)}`);
        if (!this.attempts.has(id)) this.problems.push(`an answer for ${id}, which nobody sent`);
      }
    }
    this.core.out.clear();
    this.core.sessions.length = 0;
    this.core.drops.length = 0;
  }

  /** Every worker silent, time passes: whatever was pending must be answered now. */
  settle(): void {
    for (let w = 0; w < WORKERS; w++) this.frozen.add(w);
    for (let i = 0; i < 2 * LIVENESS + 25; i++) this.step({ kind: 'tick', dt: HEARTBEAT });
    for (const id of this.attempts) if (!this.answers.has(id)) this.problems.push(`attempt ${id} was never answered`);
  }
}

describe('broker routing core: delivery promises under random interleavings', () => {
  it('should hand each request out at most once, unexpired and in arrival order, answer each attempt at most once and with its own reply, and strand nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(service, fc.integer({ min: 1, max: 3 })), { minLength: WORKERS, maxLength: WORKERS }), fc.array(actionArb, { minLength: 1, maxLength: 150 }), (initial, actions) => {
        const world = new World();
        // Start with every worker registered, so requests meet workers as well as empty queues.
        initial.forEach(([svc, credit], w) => world.step({ kind: 'ready', worker: w, service: svc, credit }));
        for (const a of actions) world.step(a);
        world.settle();
        expect(world.problems).toEqual([]);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS },
    );
  });
});
