/**
 * A counting workload for fault tests: every request carries a unique id, the
 * worker (test/fixtures/counting-handler.mjs) records each id it executes and
 * answers [id, pid], the client records each outcome, and a tap on the test
 * process's ZeroMQ sockets counts the replies each attempt received on the
 * wire. The ledger then says whether any answer was lost, duplicated, given
 * to the wrong request, or claimed for work nobody did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { ZmtpDealerSocket } from '../../src/actors/zmtp-dealer-socket.js';
import { decodeUnits, isStewardHeader, Kind } from '../../src/protocol/steward-wire.js';
import { parseTagHeader } from '../../src/protocol/tagged.js';

export const COUNTING_HANDLER = fileURLToPath(new URL('../fixtures/counting-handler.mjs', import.meta.url));
export const CRASH_INJECT = fileURLToPath(new URL('../fixtures/crash-inject.mjs', import.meta.url));

export type Outcome =
  | { readonly id: string; readonly ok: true; readonly answeredId: string; readonly pid: number }
  | { readonly id: string; readonly ok: false; readonly error: Error };

/** What the workload needs of a client: the steward Client, or one in another process (RemoteClient). */
export interface Caller {
  call(service: string, body: string): Promise<Buffer[]>;
}

/** The errors a steward client fails with when it cannot get an answer: typed, never a hang or a crash. */
const CLEAR_ERRORS = new Set(['TimeoutError', 'BrokerError', 'NoWorkerError']);

/**
 * The attempt ids a message answers: a tagged reply's `<tag>:<id>`, or each
 * CLIENT_REPLY unit of steward's compact wire (what the steward Client gets).
 */
export function answeredAttempts(frames: readonly Buffer[]): string[] {
  if (frames.length >= 2 && (frames[0] as Buffer).length === 0) {
    const header = parseTagHeader(frames[1] as Buffer);
    return header ? [header.id] : [];
  }
  const ids: string[] = [];
  if (frames.length >= 1 && isStewardHeader(frames[0] as Buffer)) {
    decodeUnits(frames, 0, (m) => {
      if (!('type' in m) && m.kind === Kind.ClientReply) ids.push(String(m.requestId));
    });
  }
  return ids;
}

/** Sends `ids` through `client`, `concurrency` at a time, and records how each call ended. */
export async function runCounted(client: Caller, service: string, ids: readonly string[], concurrency: number, onProgress?: (done: number) => void): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      try {
        const [answered, pid] = await client.call(service, id);
        outcomes.push({ id, ok: true, answeredId: String(answered), pid: Number(String(pid)) });
      } catch (error) {
        outcomes.push({ id, ok: false, error: error instanceof Error ? error : new Error(String(error)) });
      }
      onProgress?.(outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return outcomes;
}

/** How many times each id was executed, over the record files of every worker. */
export function executions(files: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const id of readFileSync(file, 'utf8').split('\n')) if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface Ledger {
  readonly answered: number;
  readonly failed: number;
  /** Requests executed more than once (allowed: a retry after a lost answer). */
  readonly executedTwice: number;
  /** Violations of the promises; empty when all hold. */
  readonly problems: string[];
}

/**
 * Checks the promises: an answer is for its own request, never duplicated,
 * and only given for work a worker executed; a failure is a typed error.
 */
export function ledger(outcomes: readonly Outcome[], executed: ReadonlyMap<string, number>, tap: { readonly counts: ReadonlyMap<string, number> }): Ledger {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (seen.has(o.id)) problems.push(`${o.id} settled twice`);
    seen.add(o.id);
    if (o.ok) {
      if (o.answeredId !== o.id) problems.push(`${o.id} was answered with ${o.answeredId}'s reply`);
      if (!executed.has(o.id)) problems.push(`${o.id} was answered but no worker recorded executing it`);
    } else if (!CLEAR_ERRORS.has(o.error.name)) {
      problems.push(`${o.id} failed with an unclear ${o.error.name}: ${o.error.message}`);
    }
  }
  for (const [attempt, n] of tap.counts) if (n > 1) problems.push(`attempt ${attempt} received ${n} replies`);
  return {
    answered: outcomes.filter((o) => o.ok).length,
    failed: outcomes.filter((o) => !o.ok).length,
    executedTwice: [...executed.values()].filter((n) => n > 1).length,
    problems,
  };
}

/**
 * Counts, per request attempt, the replies that reach this process's DEALER
 * sockets ("", "<tag>:<attempt id>", ...): zeromq.js's and steward's own ZMTP
 * DEALER's (what the Client uses without CURVE). The Client drops a second
 * reply silently, so only the wire can show one was sent. Patches zeromq.js's
 * receive and the ZMTP DEALER's hand-over for the lifetime of the tap; the
 * brokers and workers of these tests live in other processes.
 */
export class ReplyTap {
  readonly counts = new Map<string, number>();
  private readonly proto = Object.getPrototypeOf(zmq.Dealer.prototype) as { receive: () => Promise<Buffer[]> };
  private readonly zmtpProto = ZmtpDealerSocket.prototype as unknown as { deliver: (messages: Buffer[][]) => void };
  private original: (() => Promise<Buffer[]>) | undefined;
  private originalDeliver: ((messages: Buffer[][]) => void) | undefined;

  install(): this {
    const original = this.proto.receive;
    const originalDeliver = this.zmtpProto.deliver;
    this.original = original;
    this.originalDeliver = originalDeliver;
    const counts = this.counts;
    // Attempt ids are per client: keyed by socket (a client's attempt goes through one broker's socket).
    const sockets = new WeakMap<object, number>();
    let nextSocket = 0;
    const count = (socket: object, frames: readonly Buffer[]) => {
      for (const id of answeredAttempts(frames)) {
        let n = sockets.get(socket);
        if (n === undefined) sockets.set(socket, (n = nextSocket++));
        const key = `${n}/${id}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    };
    Object.defineProperty(this.proto, 'receive', {
      configurable: true,
      writable: true,
      value: function receive(this: zmq.Socket): Promise<Buffer[]> {
        const p = original.call(this);
        if (!(this instanceof zmq.Dealer)) return p;
        return p.then((frames) => {
          count(this, frames);
          return frames;
        });
      },
    });
    Object.defineProperty(this.zmtpProto, 'deliver', {
      configurable: true,
      writable: true,
      value: function deliver(this: object, messages: Buffer[][]): void {
        for (const frames of messages) count(this, frames);
        originalDeliver.call(this, messages);
      },
    });
    return this;
  }

  uninstall(): void {
    if (this.original) Object.defineProperty(this.proto, 'receive', { configurable: true, writable: false, value: this.original });
    if (this.originalDeliver) Object.defineProperty(this.zmtpProto, 'deliver', { configurable: true, writable: true, value: this.originalDeliver });
    this.original = undefined;
    this.originalDeliver = undefined;
  }
}
