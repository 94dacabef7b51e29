import { Deque } from '../../util/deque.js';
import type { Pending, ServiceEntry, ServiceSummary, WorkerEntry } from './broker-types.js';

/** What dispatch asks of its caller. */
export interface DispatchHooks {
  /** A queued request whose deadline passed before a worker could take it. */
  expired(p: Pending): void;
  /** Hands `p` to `w`; false when `w` cannot take it (the request was answered otherwise), and `w` keeps its place. */
  hand(p: Pending, w: WorkerEntry): boolean;
}

/**
 * Services by name: each with its queue of waiting requests and its workers
 * with free credit, least recently used first. Bounded by `maxServices`:
 * names come from peers, so neither a client nor a worker can grow the table
 * without bound.
 */
export class ServiceTable {
  private readonly services = new Map<string, ServiceEntry>();
  private bytes = 0;

  constructor(
    private readonly maxServices: number,
    /**
     * A worker silent this long (no reply, heartbeat or anything) gets no new request until it speaks
     * again, though it stays registered until its liveness runs out: a worker cut off by the network
     * stops taking requests that would wait out their timeout after one and a half heartbeats, not
     * after the whole liveness window.
     */
    private readonly suspectAfterMs = Number.POSITIVE_INFINITY,
  ) {}

  /** What every queued request holds together, in bytes (their `cost`). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queues an accepted request at the end of its service's line. */
  enqueue(svc: ServiceEntry, p: Pending): void {
    svc.queue.push(p);
    this.bytes += p.cost;
  }

  /** Takes the requests of `svc` that expired by `now` out of its queue. */
  takeExpired(svc: ServiceEntry, now: number): Pending[] {
    if (svc.queue.length === 0) return [];
    const expired = svc.queue.removeWhere((p) => p.expiresAt !== 0 && p.expiresAt <= now);
    for (const p of expired) this.bytes -= p.cost;
    return expired;
  }

  /** Takes the queued requests of `svc` whose clients would not wait for a worker (CLIENT_REQUEST_NOWAIT). */
  takeNoWait(svc: ServiceEntry): Pending[] {
    if (svc.queue.length === 0) return [];
    const taken = svc.queue.removeWhere((p) => !p.req.wait);
    for (const p of taken) this.bytes -= p.cost;
    return taken;
  }

  /** Takes one queued request out of its queue (its client gave it up); false when it is not queued there. */
  remove(svc: ServiceEntry, p: Pending): boolean {
    if (svc.queue.length === 0) return false;
    const taken = svc.queue.removeWhere((q) => q === p);
    for (const q of taken) this.bytes -= q.cost;
    return taken.length > 0;
  }

  /** Takes every queued request of `svc` out of its queue. */
  takeAll(svc: ServiceEntry): Pending[] {
    const all: Pending[] = [];
    for (let p = this.shift(svc); p !== undefined; p = this.shift(svc)) all.push(p);
    return all;
  }

  private shift(svc: ServiceEntry): Pending | undefined {
    const p = svc.queue.shift();
    if (p !== undefined) this.bytes -= p.cost;
    return p;
  }

  get size(): number {
    return this.services.size;
  }

  get(name: string): ServiceEntry | undefined {
    return this.services.get(name);
  }

  /** The service, made if the table has room; undefined when it is full. */
  open(name: string): ServiceEntry | undefined {
    let svc = this.services.get(name);
    if (svc === undefined) {
      if (this.services.size >= this.maxServices) return undefined;
      svc = { name, queue: new Deque(), available: new Deque(), workers: 0, requests: 0, replies: 0 };
      this.services.set(name, svc);
    }
    return svc;
  }

  hasWorkers(name: string): boolean {
    const svc = this.services.get(name);
    return svc !== undefined && svc.workers > 0;
  }

  values(): IterableIterator<ServiceEntry> {
    return this.services.values();
  }

  /** Forgets a service with no workers and nothing queued; its final counts, for metrics. */
  retire(svc: ServiceEntry): ServiceSummary {
    this.services.delete(svc.name);
    return { name: svc.name, workers: 0, queued: 0, inFlight: 0, requests: svc.requests, replies: svc.replies };
  }

  /** Puts a worker with free credit back in line, at the end (it was used last). */
  offer(w: WorkerEntry): void {
    if (w.queued) return;
    w.queued = true;
    w.service.available.push(w);
  }

  /** Hands queued requests to workers with free credit, least recently used first. */
  dispatch(svc: ServiceEntry, now: number, hooks: DispatchHooks): void {
    while (svc.queue.length > 0 && svc.available.length > 0) {
      const w = svc.available.shift() as WorkerEntry;
      w.queued = false;
      // Out of line until it has credit again or, silent too long, until it speaks again (see suspectAfterMs).
      if (!w.alive || w.inFlight >= w.credit || now - w.lastSeen > this.suspectAfterMs) continue;
      let p = this.shift(svc);
      while (p !== undefined && p.expiresAt !== 0 && p.expiresAt <= now) {
        hooks.expired(p);
        p = this.shift(svc);
      }
      if (p === undefined || !hooks.hand(p, w)) {
        // Nothing handed out: the worker keeps its place at the head.
        w.queued = true;
        svc.available.unshift(w);
        if (p === undefined) return;
        continue;
      }
      if (w.inFlight < w.credit) {
        w.queued = true;
        svc.available.push(w);
      }
    }
  }
}
