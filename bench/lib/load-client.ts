/**
 * A load client in its own process, driven over stdin: `run TARGET IN_FLIGHT
 * DURATION_MS BYTES` is answered by `result {json}` (a TailResult) or `error
 * WHY`. The C MDP client (bench/peers/mdp-client.c) and the Node one
 * (bench/peers/load-client.ts: steward's Client, nats.js, a Moleculer node)
 * speak the same lines, so every system's client is measured the same way
 * and its CPU can be read from /proc like any other process's.
 */
import { PERCENTILES, tailResult, type TailResult } from './load.js';
import { startCommand, type Proc } from './proc.js';

/** How long a run may take beyond its duration (the C client drains for 10 s) before it is given up. */
const GRACE_MS = 30_000;

export class LoadClient {
  private constructor(readonly proc: Proc) {}

  /** Starts `command args...` and waits for its `ready` line. */
  static async start(command: string, args: string[], ms = 30_000): Promise<LoadClient> {
    return new LoadClient(await startCommand(command, args, (l) => l === 'ready', { stdin: true, ms }));
  }

  get pid(): number {
    return this.proc.pid;
  }

  async run(target: string, inFlight: number, durationMs: number, bytes: number): Promise<TailResult> {
    const reply = this.proc.nextLine((l) => l.startsWith('result ') || l.startsWith('error '), durationMs + GRACE_MS);
    this.proc.send(`run ${target} ${inFlight} ${Math.round(durationMs)} ${bytes}`);
    const line = await reply;
    if (line.startsWith('error ')) throw new Error(`load client (pid ${this.pid}) on ${target}: ${line.slice(6)}`);
    return parseResult(line.slice(7));
  }

  stop(): Promise<void> {
    this.proc.send('quit');
    return this.proc.stop();
  }
}

function parseResult(json: string): TailResult {
  const r = JSON.parse(json) as { requests?: unknown; seconds?: unknown; lost?: unknown; bad?: unknown; percentilesMs?: unknown };
  const numbers = Array.isArray(r.percentilesMs) ? r.percentilesMs.filter((x): x is number => typeof x === 'number') : [];
  if (typeof r.requests !== 'number' || typeof r.seconds !== 'number' || numbers.length !== PERCENTILES.length) {
    throw new Error(`load client result not understood: ${json.slice(0, 200)}`);
  }
  if (typeof r.bad === 'number' && r.bad > 0) throw new Error(`load client got ${r.bad} replies that answer no request it sent: ${json.slice(0, 200)}`);
  return tailResult(r.requests, r.seconds, numbers, typeof r.lost === 'number' ? r.lost : 0);
}
