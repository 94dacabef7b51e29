/**
 * The broker's stream and cancellation promises, checked on the routing core
 * under random interleavings: compact-wire clients making unary calls and
 * streams (random windows), reading (refilling) and cancelling; steward
 * workers that heed the window and MDP/0.2 workers that do not, sending
 * partials and finals, falling silent; ticks. After every step:
 *   - a client gets partials only for its own streams, never for a unary call;
 *   - a stream's partials arrive in the order the worker sent them, none
 *     missing between them (a part is never dropped silently: a stream that
 *     cannot take more ends with an error);
 *   - a client never gets more partials than it granted (its window);
 *   - nothing reaches a client for a call after its final answer, or after it
 *     cancelled; an attempt is answered at most once, a 200 with its own reply;
 *   - the broker holds no more than its limit for slow readers, and a steward
 *     worker never sends past its window.
 * And once every worker has gone silent and every client reads all it is
 * given: every call not cancelled (and whose client never fell silent) was
 * answered exactly once, and the broker holds no stream, part or request.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerCore } from '../../src/machines/broker/broker-core.js';
import { decodeBrokerFrames, type BrokerInbound } from '../../src/protocol/broker-wire.js';
import { workerHeartbeat, workerReady, workerReply } from '../../src/protocol/mdp.js';
import { workerFinal2, workerHeartbeat2, workerPartial2, workerReady2 } from '../../src/protocol/mdp2.js';
import { Status } from '../../src/protocol/status.js';
import {
  Kind,
  clientCallUnit,
  clientCancelUnit,
  clientWindowUnit,
  decodeUnits,
  heartbeatUnit,
  workerPartialUnit,
  workerReadyUnit,
  workerReplyUnit,
} from '../../src/protocol/steward-wire.js';
import { FUZZ_RUNS, FUZZ_SEED } from './frames.js';

const HEARTBEAT = 100;
const LIVENESS = 3;
const CLIENTS = 3;
/** Workers 0 and 1 speak the compact wire (and heed windows), 2 and 3 MDP/0.2 (no window), 4 MDP/0.1 (no partials). */
const WIRES = ['steward', 'steward', 'mdp2', 'mdp2', 'mdp'] as const;
const MAX_STREAM_BYTES = 2_000;
const MAX_QUEUE_BYTES = 64 * 1024;
const PART = 300;
const MAX_TTL = 3_000;

type Action =
  | { kind: 'call'; client: number; window: number; ttl: number }
  | { kind: 'read'; client: number; pick: number; credit: number }
  | { kind: 'cancel'; client: number; pick: number }
  | { kind: 'silence'; client: number; silent: boolean }
  | { kind: 'partial'; worker: number; pick: number }
  | { kind: 'final'; worker: number; pick: number }
  | { kind: 'freeze'; worker: number; frozen: boolean }
  | { kind: 'tick'; dt: number };

const client = fc.nat({ max: CLIENTS - 1 });
const worker = fc.nat({ max: WIRES.length - 1 });
const pick = fc.nat({ max: 7 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  // window 0: a unary call (sent as CLIENT_CALL, so it may be cancelled).
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), client, window: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 })), ttl: fc.integer({ min: 50, max: MAX_TTL }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), client, pick, credit: fc.nat({ max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), client, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('silence' as const), client, silent: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('partial' as const), worker, pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('final' as const), worker, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeze' as const), worker, frozen: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 1, max: 150 }) }) },
);

function decode(frames: Buffer[]): BrokerInbound[] {
  const m = decodeBrokerFrames(frames);
  const list = (Array.isArray(m) ? m : [m]) as Array<BrokerInbound | { type: 'rejected'; reason: string }>;
  for (const x of list) if (x.type === 'rejected') throw new Error(`test built a bad message: ${x.reason}`);
  return list as BrokerInbound[];
}

interface Attempt {
  readonly id: number;
  readonly client: number;
  readonly stream: boolean;
  /** Partials the client granted: its window, then each refill. */
  granted: number;
  /** Partials received, and read (refilled for). */
  received: number;
  read: number;
  answered: number;
  cancelled: boolean;
  /** The client fell silent while this was open: the broker may have given it up. */
  excused: boolean;
}

/** A request as a worker holds it. */
interface Held {
  readonly token: number;
  readonly envelope: Buffer;
  readonly id: number;
  readonly stream: boolean;
  /** steward wire: partials it may still send (Infinity: no window). */
  window: number;
  sent: number;
  cancelled: boolean;
}

class World {
  readonly core = new BrokerCore({ heartbeatIntervalMs: HEARTBEAT, liveness: LIVENESS, maxStreamBytes: MAX_STREAM_BYTES, maxQueueBytes: MAX_QUEUE_BYTES });
  now = 1_000_000;
  private seq = 0;
  readonly attempts = new Map<number, Attempt>();
  readonly holds: Held[][] = WIRES.map(() => []);
  readonly frozen = new Set<number>();
  readonly silent = new Set<number>();
  /** Partials workers sent for each call. */
  readonly sentFor = new Map<number, number>();
  readonly problems: string[] = [];

  private wid = (w: number) => Buffer.from(`W${w}`);
  private cid = (c: number) => Buffer.from(`C${c}`);

  constructor() {
    WIRES.forEach((wire, w) => {
      const frames = wire === 'steward' ? workerReadyUnit('svc', 2) : wire === 'mdp2' ? workerReady2('svc') : workerReady('svc');
      this.send(this.wid(w), frames);
    });
    this.observe();
  }

  private send(peer: Buffer, frames: Buffer[]): void {
    this.core.handle(decode([peer, ...frames]), 'sock', this.now);
  }

  private open(c: number): Attempt[] {
    return [...this.attempts.values()].filter((a) => a.client === c && a.answered === 0 && !a.cancelled);
  }

  step(a: Action): void {
    switch (a.kind) {
      case 'call': {
        const id = ++this.seq;
        this.attempts.set(id, { id, client: a.client, stream: a.window > 0, granted: a.window, received: 0, read: 0, answered: 0, cancelled: false, excused: this.silent.has(a.client) });
        const options = a.window > 0 ? { window: a.window } : {};
        this.send(this.cid(a.client), clientCallUnit(id, this.now + a.ttl, 'svc', [Buffer.from(String(id))], options));
        break;
      }
      case 'read': {
        const streams = this.open(a.client).filter((x) => x.stream);
        const s = streams[a.pick % Math.max(1, streams.length)];
        if (s === undefined) break;
        // The reader refills for what it has read, at most: here it reads up to `credit` of what arrived.
        const credit = Math.min(a.credit, s.received - s.read);
        s.read += credit;
        s.granted += credit;
        this.send(this.cid(a.client), clientWindowUnit(s.id, credit));
        break;
      }
      case 'cancel': {
        const open = this.open(a.client);
        const x = open[a.pick % Math.max(1, open.length)];
        if (x === undefined) break;
        x.cancelled = true;
        this.send(this.cid(a.client), clientCancelUnit(x.id));
        break;
      }
      case 'silence':
        if (a.silent) {
          this.silent.add(a.client);
          for (const x of this.open(a.client)) x.excused = true;
        } else this.silent.delete(a.client);
        break;
      case 'partial': {
        const wire = WIRES[a.worker] as (typeof WIRES)[number];
        if (wire === 'mdp') break;
        const held = (this.holds[a.worker] as Held[]).filter((h) => h.stream || wire === 'mdp2');
        const h = held[a.pick % Math.max(1, held.length)];
        // A steward worker heeds its window and stops on CANCEL; an MDP/0.2 worker knows neither.
        if (h === undefined || (wire === 'steward' && (h.window <= 0 || h.cancelled))) break;
        const body = [Buffer.from(`${h.id}:${h.sent}`), Buffer.alloc(PART)];
        h.sent += 1;
        h.window -= 1;
        this.sentFor.set(h.id, (this.sentFor.get(h.id) ?? 0) + 1);
        this.send(this.wid(a.worker), wire === 'steward' ? workerPartialUnit(h.token, body) : workerPartial2(h.envelope, body));
        break;
      }
      case 'final': {
        const held = this.holds[a.worker] as Held[];
        const [h] = held.splice(a.pick % Math.max(1, held.length), 1);
        if (h === undefined) break;
        const body = [Buffer.from(`final:${h.id}`)];
        const wire = WIRES[a.worker];
        this.send(this.wid(a.worker), wire === 'steward' ? workerReplyUnit(h.token, body) : wire === 'mdp2' ? workerFinal2(h.envelope, body) : workerReply(h.envelope, body));
        break;
      }
      case 'freeze':
        if (a.frozen) this.frozen.add(a.worker);
        else this.frozen.delete(a.worker);
        break;
      case 'tick':
        this.tick(a.dt);
        break;
    }
    this.observe();
  }

  private tick(dt: number): void {
    this.now += dt;
    WIRES.forEach((wire, w) => {
      if (this.frozen.has(w)) return;
      this.send(this.wid(w), wire === 'steward' ? heartbeatUnit() : wire === 'mdp2' ? workerHeartbeat2() : workerHeartbeat());
    });
    // Clients keep their open streams alive.
    for (let c = 0; c < CLIENTS; c++) {
      if (this.silent.has(c)) continue;
      for (const s of this.open(c)) if (s.stream) this.send(this.cid(c), clientWindowUnit(s.id, 0));
    }
    this.core.tick(this.now);
  }

  /** Reads what the broker sent, checking the promises as it goes. */
  private observe(): void {
    if (this.core.streamHeldBytes > MAX_QUEUE_BYTES) this.problems.push(`the broker holds ${this.core.streamHeldBytes} bytes for slow readers`);
    for (const frames of this.core.out.get('sock') ?? []) {
      const peer = (frames[0] as Buffer).toString('latin1');
      const n = Number(peer.slice(1));
      if (peer.startsWith('W')) this.toWorker(n, frames);
      else this.toClient(n, frames);
    }
    this.core.out.clear();
    this.core.sessions.length = 0;
    this.core.drops.length = 0;
  }

  private toWorker(w: number, frames: Buffer[]): void {
    const held = this.holds[w] as Held[];
    if (WIRES[w] === 'steward') {
      decodeUnits(frames, 1, (m) => {
        if ('type' in m) return;
        if (m.kind === Kind.WorkerRequest) {
          const id = Number(String(m.body[0]));
          held.push({ token: m.token, envelope: Buffer.alloc(0), id, stream: m.stream, window: m.window === 0 ? Infinity : m.window, sent: 0, cancelled: false });
        } else if (m.kind === Kind.WorkerWindow) {
          const h = held.find((x) => x.token === m.token);
          if (h) h.window += m.credit;
        } else if (m.kind === Kind.WorkerCancel) {
          const h = held.find((x) => x.token === m.token);
          if (h) h.cancelled = true;
        }
      });
      return;
    }
    // MDP/0.2: [W, MDPW02, 0x02, env, "", body]; MDP/0.1: [W, "", MDPW01, 0x02, env, "", body].
    const at = WIRES[w] === 'mdp2' ? 2 : 3;
    if (frames[at]?.[0] !== 0x02) return;
    const envelope = frames[at + 1] as Buffer;
    held.push({ token: envelope.readUInt32BE(0), envelope, id: Number(String(frames[at + 3])), stream: WIRES[w] === 'mdp2', window: Infinity, sent: 0, cancelled: false });
  }

  private toClient(c: number, frames: Buffer[]): void {
    decodeUnits(frames, 1, (m) => {
      if ('type' in m) return this.problems.push(`client C${c} got an unreadable unit`);
      if (m.kind !== Kind.ClientPartial && m.kind !== Kind.ClientReply) return;
      const x = this.attempts.get(m.requestId);
      if (x === undefined || x.client !== c) return this.problems.push(`client C${c} got a unit for ${m.requestId}, not its call`);
      if (x.cancelled) return this.problems.push(`call ${x.id} got a unit after its client cancelled it`);
      if (x.answered > 0) return this.problems.push(`call ${x.id} got a unit after its final answer`);
      if (m.kind === Kind.ClientPartial) {
        if (!x.stream) return this.problems.push(`unary call ${x.id} got a partial`);
        const tag = String(m.body[0]);
        if (tag !== `${x.id}:${x.received}`) this.problems.push(`stream ${x.id} got part ${tag} where ${x.id}:${x.received} was next`);
        x.received += 1;
        if (x.received > x.granted) this.problems.push(`stream ${x.id} got ${x.received} partials with ${x.granted} granted`);
        return;
      }
      x.answered += 1;
      if (m.status === Status.Ok && String(m.body[0]) !== `final:${x.id}`) this.problems.push(`call ${x.id} got the reply ${String(m.body[0])}`);
      // A reply after every part: none of what the worker sent was lost on the way.
      if (m.status === Status.Ok && x.stream && x.received !== (this.sentFor.get(x.id) ?? 0)) {
        this.problems.push(`stream ${x.id} ended with ${x.received} of the ${this.sentFor.get(x.id) ?? 0} partials its worker sent`);
      }
      // A stream that has begun lives while its client keeps it, not to its expiration.
      if (m.status === Status.Expired && x.received > 0) this.problems.push(`stream ${x.id} expired after ${x.received} partials`);
    });
  }

  /** Every worker silent, every client reading all it gets: whatever was pending must be answered. */
  settle(): void {
    for (let w = 0; w < WIRES.length; w++) this.frozen.add(w);
    this.silent.clear();
    // Long enough for the last queued call to expire (its ttl is at most MAX_TTL) after every worker was purged.
    for (let i = 0; i < MAX_TTL / HEARTBEAT + 3 * LIVENESS + 10; i++) {
      for (const x of this.attempts.values()) {
        if (x.stream && x.answered === 0 && !x.cancelled && x.received > x.read) this.step({ kind: 'read', client: x.client, pick: this.open(x.client).filter((s) => s.stream).indexOf(x), credit: 3 });
      }
      this.step({ kind: 'tick', dt: HEARTBEAT });
    }
    for (const x of this.attempts.values()) {
      if (!x.cancelled && !x.excused && x.answered !== 1) this.problems.push(`call ${x.id} was answered ${x.answered} times`);
    }
    if (this.core.streamCount !== 0) this.problems.push(`${this.core.streamCount} streams left open`);
    if (this.core.streamHeldBytes !== 0) this.problems.push(`${this.core.streamHeldBytes} bytes left held`);
    if (this.core.busy !== 0) this.problems.push(`${this.core.busy} requests left in flight`);
    if (this.core.clientCount !== 0) this.problems.push(`${this.core.clientCount} clients still counted`);
  }
}

describe('broker routing core: stream and cancellation promises under random interleavings', () => {
  it('should keep every stream in order, within its window and bounded, send nothing after a final answer or a cancel, and strand nothing', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 60, maxLength: 200 }), (actions) => {
        const world = new World();
        for (const a of actions) world.step(a);
        world.settle();
        expect(world.problems).toEqual([]);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS },
    );
  });
});
