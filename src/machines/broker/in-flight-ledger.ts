import type { Pending, WorkerEntry } from './broker-types.js';

/**
 * Who holds what: each request handed to a worker under a uint32 token, what
 * each worker holds, and how many requests each client has queued or in
 * flight (for `maxClients`). A reply is taken out by its token and only from
 * the worker that holds it, so nothing is ever answered twice.
 */
export class InFlightLedger {
  private readonly byToken = new Map<number, Pending>();
  /** Requests queued or in flight per client (routing id as latin1). */
  private readonly clients = new Map<string, number>();
  private nextToken = 1;

  constructor(private readonly maxClients: number) {}

  /** Requests handed to workers and not yet answered. */
  get size(): number {
    return this.byToken.size;
  }

  /** Distinct clients with requests queued or in flight. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Counts an accepted request against its client; false (nothing counted) when a new client would pass `maxClients`. */
  admit(p: Pending): boolean {
    const client = p.req.peer.toString('latin1');
    const held = this.clients.get(client);
    if (held === undefined && this.clients.size >= this.maxClients) return false;
    this.clients.set(client, (held ?? 0) + 1);
    p.client = client;
    return true;
  }

  /** The request is answered (or given up): its client no longer counts for it. */
  release(p: Pending): void {
    const client = p.client;
    if (client === undefined) return;
    p.client = undefined;
    const held = this.clients.get(client) ?? 0;
    if (held <= 1) this.clients.delete(client);
    else this.clients.set(client, held - 1);
  }

  /** Hands `p` to `w` under a fresh token. */
  hand(p: Pending, w: WorkerEntry): number {
    let token = this.nextToken;
    // uint32 tokens wrap after 4 billion requests; skip any still in flight.
    while (this.byToken.has(token)) token = (token + 1) >>> 0 || 1;
    this.nextToken = (token + 1) >>> 0 || 1;
    p.token = token;
    p.worker = w;
    this.byToken.set(token, p);
    w.holding.add(token);
    w.inFlight += 1;
    return token;
  }

  /** The request `w` answered under `token`, out of flight; undefined when `w` does not hold it (a stale reply). */
  take(w: WorkerEntry, token: number): Pending | undefined {
    const p = this.byToken.get(token);
    if (p === undefined || p.worker !== w) return undefined;
    this.byToken.delete(token);
    w.holding.delete(token);
    w.inFlight -= 1;
    return p;
  }

  /** Everything `w` holds, out of flight: its worker is gone and the caller answers them. */
  takeAll(w: WorkerEntry): Pending[] {
    const lost: Pending[] = [];
    for (const token of w.holding) {
      const p = this.byToken.get(token);
      this.byToken.delete(token);
      if (p !== undefined) lost.push(p);
    }
    w.holding.clear();
    return lost;
  }
}
