/**
 * The registry's address book: which dispatcher serves which service, at
 * which port pair. Plain code over a map, called by the registry machine once
 * per received burst; it answers requests (frames out) and says which entry
 * actors to start, refresh or release. The entry actors own liveness: an
 * entry that expires tells the machine, which calls `expire` here.
 */
import {
  errorReply,
  grantPayload,
  locationPayload,
  namesPayload,
  okReply,
  tcpEndpoint,
  type EntryState,
  type Grant,
  type HeartbeatRequest,
  type RegisterRequest,
  type RegistryInbound,
  type UnregisterRequest,
} from '../../protocol/keywords.js';
import { PortPool, type PortPair } from './port-pool.js';

export interface RegistryTableOptions {
  readonly firstPort: number;
  readonly lastPort: number;
  /** Ports never handed out (the registry's own port, when it lies inside the range). */
  readonly exclude?: readonly number[];
  readonly heartbeatMs: number;
  /** Silence after which a dispatcher is dropped and its ports freed. */
  readonly expiryMs: number;
  /** How long a port a dispatcher could not bind is set aside. */
  readonly blockMs?: number;
  readonly maxListEntries?: number;
}

export interface Registration {
  readonly service: string;
  readonly token: string;
  readonly host: string;
  readonly pair: PortPair;
  readonly generation: number;
  readonly dispatch: string;
  readonly broadcast: string;
  state: EntryState;
  lastSeen: number;
}

export type EntryCommand =
  | { readonly type: 'entry.start'; readonly registration: Registration }
  | { readonly type: 'entry.heartbeat'; readonly service: string; readonly generation: number }
  | { readonly type: 'entry.release'; readonly service: string; readonly generation: number };

/** What happened, for the machine's log lines and counters (never per request at info level). */
export type TableNote =
  | { readonly type: 'registered'; readonly service: string; readonly dispatch: string; readonly broadcast: string }
  | { readonly type: 'unregistered'; readonly service: string }
  | { readonly type: 'expired'; readonly service: string; readonly dispatch: string }
  | { readonly type: 'exhausted'; readonly service: string }
  | { readonly type: 'taken'; readonly service: string };

export class RegistryTable {
  readonly pool: PortPool;
  private readonly services = new Map<string, Registration>();
  private generation = 0;
  private readonly blockMs: number;
  private readonly maxList: number;

  /** Replies to send; drained by the caller after each call. */
  readonly out: Buffer[][] = [];
  readonly commands: EntryCommand[] = [];
  readonly notes: TableNote[] = [];

  constructor(private readonly options: RegistryTableOptions) {
    this.pool = new PortPool(options.firstPort, options.lastPort, options.exclude);
    this.blockMs = options.blockMs ?? 60_000;
    this.maxList = options.maxListEntries ?? 10_000;
  }

  get size(): number {
    return this.services.size;
  }

  get(service: string): Registration | undefined {
    return this.services.get(service);
  }

  list(): Registration[] {
    return [...this.services.values()];
  }

  handle(messages: readonly RegistryInbound[], now: number): void {
    for (const m of messages) {
      switch (m.type) {
        case 'registry.register':
          this.onRegister(m, now);
          break;
        case 'registry.heartbeat':
          this.onHeartbeat(m, now);
          break;
        case 'registry.unregister':
          this.onUnregister(m);
          break;
        case 'registry.lookup': {
          const r = this.services.get(m.service);
          this.out.push(
            r
              ? okReply(m.peer, m.id, locationPayload({ dispatch: r.dispatch, broadcast: r.broadcast, state: r.state }))
              : errorReply(m.peer, m.id, 'no-such-service', `no dispatcher is registered for "${m.service}"`),
          );
          break;
        }
        case 'registry.list':
          this.out.push(okReply(m.peer, m.id, namesPayload([...this.services.keys()].sort().slice(0, this.maxList))));
          break;
        case 'keywords.invalid':
          this.out.push(errorReply(m.peer, m.id, m.code, m.message));
          break;
      }
    }
  }

  /** An entry actor reports its dispatcher silent past the expiry: drop it and free its ports. */
  expire(service: string, generation: number): boolean {
    const r = this.services.get(service);
    if (!r || r.generation !== generation) return false;
    this.services.delete(service);
    this.pool.release(r.pair);
    this.notes.push({ type: 'expired', service, dispatch: r.dispatch });
    return true;
  }

  setState(service: string, generation: number, state: EntryState): void {
    const r = this.services.get(service);
    if (r && r.generation === generation) r.state = state;
  }

  private grantOf(r: Registration): Grant {
    return { dispatch: r.dispatch, broadcast: r.broadcast, heartbeatMs: this.options.heartbeatMs, expiryMs: this.options.expiryMs };
  }

  private onRegister(m: RegisterRequest, now: number): void {
    for (const port of m.avoid) this.pool.block(port, now + this.blockMs);
    const existing = this.services.get(m.service);
    if (existing) {
      if (existing.token !== m.token) {
        this.notes.push({ type: 'taken', service: m.service });
        const silent = now - existing.lastSeen;
        this.out.push(
          errorReply(
            m.peer,
            m.id,
            'service-taken',
            `"${m.service}" is served by another dispatcher at ${existing.dispatch} (heard from ${silent} ms ago; it is dropped after ${this.options.expiryMs} ms of silence)`,
          ),
        );
        return;
      }
      const avoided = m.avoid.includes(existing.pair.dispatch) || m.avoid.includes(existing.pair.broadcast);
      if (!avoided && existing.host === m.host) {
        // The same dispatcher again (a lost reply, a restarted registrar): same grant, idempotent.
        existing.lastSeen = now;
        this.commands.push({ type: 'entry.heartbeat', service: m.service, generation: existing.generation });
        this.out.push(okReply(m.peer, m.id, grantPayload(this.grantOf(existing))));
        return;
      }
      this.drop(existing);
    }
    const pair = this.pool.allocate(now, m.prefer);
    if (!pair) {
      this.notes.push({ type: 'exhausted', service: m.service });
      const { firstPort, lastPort } = this.options;
      this.out.push(
        errorReply(
          m.peer,
          m.id,
          'ports-exhausted',
          `no free port pair in ${firstPort}-${lastPort} (${this.pool.total} pairs, ${this.services.size} services registered); widen first-port/last-port in [zmq-router]`,
        ),
      );
      return;
    }
    const r: Registration = {
      service: m.service,
      token: m.token,
      host: m.host,
      pair,
      generation: ++this.generation,
      dispatch: tcpEndpoint(m.host, pair.dispatch),
      broadcast: tcpEndpoint(m.host, pair.broadcast),
      state: 'registered',
      lastSeen: now,
    };
    this.services.set(m.service, r);
    this.commands.push({ type: 'entry.start', registration: r });
    this.notes.push({ type: 'registered', service: r.service, dispatch: r.dispatch, broadcast: r.broadcast });
    this.out.push(okReply(m.peer, m.id, grantPayload(this.grantOf(r))));
  }

  private onHeartbeat(m: HeartbeatRequest, now: number): void {
    const r = this.services.get(m.service);
    if (!r) {
      this.out.push(errorReply(m.peer, m.id, 'no-such-service', `"${m.service}" is not registered; register again`));
      return;
    }
    if (r.token !== m.token) {
      this.out.push(errorReply(m.peer, m.id, 'service-taken', `"${m.service}" is registered by another dispatcher`));
      return;
    }
    r.lastSeen = now;
    this.commands.push({ type: 'entry.heartbeat', service: m.service, generation: r.generation });
    this.out.push(okReply(m.peer, m.id));
  }

  private onUnregister(m: UnregisterRequest): void {
    const r = this.services.get(m.service);
    if (!r || r.token !== m.token) {
      this.out.push(errorReply(m.peer, m.id, 'no-such-service', `"${m.service}" is not registered by this dispatcher`));
      return;
    }
    this.drop(r);
    this.notes.push({ type: 'unregistered', service: m.service });
    this.out.push(okReply(m.peer, m.id));
  }

  private drop(r: Registration): void {
    this.services.delete(r.service);
    this.pool.release(r.pair);
    this.commands.push({ type: 'entry.release', service: r.service, generation: r.generation });
  }

  toJSON(): object {
    return {
      services: this.list().map((r) => ({ service: r.service, dispatch: r.dispatch, broadcast: r.broadcast, state: r.state })),
      freePairs: this.pool.available,
      totalPairs: this.pool.total,
    };
  }
}
