import { peerKey } from '../../protocol/latin1-cache.js';
import type { Pending, WorkerEntry } from './broker-types.js';

/**
 * Who holds what: each request handed to a worker under a uint32 token, what
 * each worker holds, and how many requests each client has queued or in
 * flight (for `maxClients`). A reply is taken out by its token and only from
 * the worker that holds it, so nothing is ever answered twice. Requests sent
 * as compact CLIENT_CALLs are also found by client and request id while they
 * count for their client, so the client can cancel them or refill a stream's
 * window.
 */
export class InFlightLedger {
  private readonly byToken = new Map<number, Pending>();
  /** Requests queued or in flight per client (routing id as latin1). */
  private readonly clients = new Map<string, number>();
  /** CLIENT_CALLs by client, then request id. */
  private readonly calls = new Map<string, Map<number, Pending>>();
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
    const client = peerKey(p.req.peer);
    const held = this.clients.get(client);
    if (held === undefined && this.clients.size >= this.maxClients) return false;
    this.clients.set(client, (held ?? 0) + 1);
    p.client = client;
    if (p.req.call) {
      let mine = this.calls.get(client);
      if (mine === undefined) {
        mine = new Map();
        this.calls.set(client, mine);
      }
      mine.set(p.req.replyId, p);
    }
    return true;
  }

  /** The CLIENT_CALL `replyId` of `client` (routing id as latin1), while its client still counts for it. */
  find(client: string, replyId: number): Pending | undefined {
    return this.calls.get(client)?.get(replyId);
  }

  /** The request is answered (or given up): its client no longer counts for it, nor can name it. */
  release(p: Pending): void {
    const client = p.client;
    if (client === undefined) return;
    p.client = undefined;
    if (p.req.call) {
      const mine = this.calls.get(client);
      if (mine?.get(p.req.replyId) === p) {
        mine.delete(p.req.replyId);
        if (mine.size === 0) this.calls.delete(client);
      }
    }
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

  /** The request `w` holds under `token`, left in flight (a partial reply); undefined when it holds none. */
  peek(w: WorkerEntry, token: number): Pending | undefined {
    const p = this.byToken.get(token);
    return p !== undefined && p.worker === w ? p : undefined;
  }

  /** Every request in flight (the tick looks for those that expired there). */
  values(): IterableIterator<Pending> {
    return this.byToken.values();
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
