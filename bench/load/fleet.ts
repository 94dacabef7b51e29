/**
 * Many workers and many clients in one process, each on its own socket, and
 * the two workloads the load and soak runs drive through them: a closed loop
 * (every client keeps one request outstanding: the most the broker can take)
 * and a paced open loop (a fixed total rate). Every request carries a unique
 * id that the echo worker sends back, so an answer to the wrong request, or a
 * request never answered, is counted, not assumed away.
 */
import { performance } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import { Client } from '../../src/api/client.js';
import { Worker } from '../../src/api/worker.js';

export const LOAD_SERVICE = 'load.echo';

/** libzmq allows 1023 sockets per context by default; a host of thousands of peers needs more. */
export function allowSockets(n: number): void {
  if (zmq.context.maxSockets < n) zmq.context.maxSockets = Math.min(n, zmq.context.maxSocketsLimit);
}

export interface WorkerFleetOptions {
  readonly backend: string;
  readonly count: number;
  /** Credit of each worker (1: plain MDP behaviour). */
  readonly concurrency: number;
  readonly heartbeatMs: number;
}

export function startWorkers(options: WorkerFleetOptions): Worker[] {
  allowSockets(options.count + 64);
  return Array.from({ length: options.count }, () =>
    Worker.start({
      broker: options.backend,
      service: LOAD_SERVICE,
      concurrency: options.concurrency,
      heartbeatIntervalMs: options.heartbeatMs,
      handler: (request) => request.body as Buffer[],
    }),
  );
}

export interface ClientFleetOptions {
  readonly frontend: string;
  readonly count: number;
  readonly timeoutMs: number;
  readonly retries: number;
}

export function startClients(options: ClientFleetOptions): Client[] {
  allowSockets(options.count + 64);
  return Array.from({ length: options.count }, () => new Client({ broker: options.frontend, timeout: options.timeoutMs, retries: options.retries }));
}

export type Phase =
  | { readonly mode: 'closed'; readonly durationMs: number; readonly tag: string }
  | { readonly mode: 'paced'; readonly ratePerSec: number; readonly durationMs: number; readonly tag: string };

/** What one phase did; `latenciesMs` holds one entry per answered request. */
export interface PhaseResult {
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  /** Answers whose body was another request's id: must be 0. */
  readonly wrong: number;
  readonly seconds: number;
  readonly latenciesMs: Float64Array;
  readonly errors: Readonly<Record<string, number>>;
}

class Tally {
  sent = 0;
  answered = 0;
  failed = 0;
  wrong = 0;
  readonly latencies: number[] = [];
  readonly errors: Record<string, number> = {};

  async call(client: Client, id: string): Promise<void> {
    this.sent += 1;
    const t0 = performance.now();
    try {
      const [reply] = await client.call(LOAD_SERVICE, id);
      if (reply?.toString() === id) {
        this.answered += 1;
        this.latencies.push(performance.now() - t0);
      } else this.wrong += 1;
    } catch (error) {
      this.failed += 1;
      const name = error instanceof Error ? error.name : 'unknown';
      this.errors[name] = (this.errors[name] ?? 0) + 1;
    }
  }

  result(seconds: number): PhaseResult {
    return {
      sent: this.sent,
      answered: this.answered,
      failed: this.failed,
      wrong: this.wrong,
      seconds,
      latenciesMs: Float64Array.from(this.latencies),
      errors: { ...this.errors },
    };
  }
}

/** Runs one phase over these clients; resolves once every request sent has settled. */
export async function runPhase(clients: readonly Client[], phase: Phase, host: string): Promise<PhaseResult> {
  const tally = new Tally();
  const start = performance.now();
  const end = start + phase.durationMs;
  let seq = 0;
  const nextId = (i: number) => `${phase.tag}-${host}-${i}-${seq++}`;
  if (phase.mode === 'closed') {
    await Promise.all(
      clients.map(async (client, i) => {
        while (performance.now() < end) await tally.call(client, nextId(i));
      }),
    );
  } else {
    // One ticker for all clients: per-client timers would cost more than the calls at these rates.
    const inFlight = new Set<Promise<void>>();
    let issued = 0;
    let turn = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.floor(((Math.min(now, end) - start) / 1000) * phase.ratePerSec) - issued;
        for (let k = 0; k < due; k++) {
          const i = turn++ % clients.length;
          const p = tally.call(clients[i] as Client, nextId(i)).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        issued += Math.max(0, due);
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    await Promise.all([...inFlight]);
  }
  return tally.result((performance.now() - start) / 1000);
}

export async function stopAll(workers: readonly Worker[], clients: readonly Client[]): Promise<void> {
  for (const c of clients) c.close();
  await Promise.all(workers.map((w) => w.stop()));
}
