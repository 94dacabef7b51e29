/**
 * The balancer's per-request work: pools of backends by group and type,
 * their health, and the selection algorithms. Plain code called by the
 * balancer machine once per received burst; it answers requests with reply
 * bodies and, when a configuration is applied, says which health actors to
 * start and stop. It touches no socket and no actor.
 */
import type { BackendSpec, BalancerConfig, HealthTarget } from '../../config/balancer-config.js';
import { BACKEND_TYPES, isBackendType } from '../../protocol/stirr.js';
import { stirrErrorBody, type StirrErrorReason, type StirrInbound, type StirrReply, type StirrRequest } from '../../protocol/stirr.js';
import { ALGORITHM_NAMES, algorithmNamed, type Candidate, type PoolCursor, type Random } from './algorithms.js';
import type { HealthStatus } from './events.js';

export interface Backend extends Candidate {
  readonly spec: BackendSpec;
  /** Identity across reloads: same group, type, args and configuration. */
  readonly key: string;
  /** Identity of its health checks across reloads: same target and heartbeat. Undefined for Base. */
  readonly healthId: string | undefined;
  readonly pool: Pool;
  status: HealthStatus;
  lastError: string | undefined;
  lastHanded: number;
}

export interface Pool {
  readonly group: string;
  readonly type: string;
  readonly backends: Backend[];
  readonly cursor: PoolCursor;
  /** The live list, rebuilt only after a status change in this pool. */
  live: Backend[] | undefined;
}

/** A health actor the balancer wants running. */
export interface HealthPlan {
  readonly id: string;
  readonly target: HealthTarget;
  readonly intervalMs: number;
}

export type Decision =
  | { readonly ok: true; readonly backend: Backend }
  | { readonly ok: false; readonly reason: StirrErrorReason; readonly error: string };

export interface BackendSummary {
  readonly index: number;
  readonly group: string;
  readonly type: string;
  readonly status: HealthStatus;
  readonly lastError: string | undefined;
  readonly healthId: string | undefined;
}

export interface TableOptions {
  readonly random?: Random;
}

/** FNV-1a, 32 bits, as hex: short stable ids from identities. */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Numbers repeated identities: two identical backends stay two backends. */
function numbered(base: string, seen: Map<string, number>): string {
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return `${base}-${n}`;
}

export class BalancerTable {
  private readonly groups = new Map<string, Map<string, Pool>>();
  private backends: Backend[] = [];
  private readonly byHealthId = new Map<string, Backend>();
  private readonly random: Random;
  private sequence = 0;
  digest: string | undefined;

  constructor(options: TableOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  get size(): number {
    return this.backends.length;
  }

  /**
   * Replaces the configuration in one step, so a request is always answered
   * from one complete configuration, the old or the new. Backends whose
   * health identity is unchanged keep their status and their health actor;
   * returns the health actors to start and the ids of those to stop.
   */
  apply(config: BalancerConfig): { start: HealthPlan[]; stop: string[] } {
    const previousByKey = new Map(this.backends.map((b) => [b.key, b]));
    const previousHealth = new Map(this.byHealthId);
    this.groups.clear();
    this.byHealthId.clear();
    const keys = new Map<string, number>();
    const healthKeys = new Map<string, number>();
    const next: Backend[] = [];
    const start: HealthPlan[] = [];
    for (const spec of config.backends) {
      const pool = this.poolFor(spec.group, spec.type, true) as Pool;
      const key = numbered(fnv(JSON.stringify([spec.group, spec.type, spec.args, spec.configuration])), keys);
      const healthId =
        spec.check.kind === 'Base'
          ? undefined
          : numbered(`${spec.type.toLowerCase()}-${fnv(JSON.stringify([spec.check, spec.heartbeatMs]))}`, healthKeys);
      const before = healthId !== undefined ? previousHealth.get(healthId) : undefined;
      const backend: Backend = {
        spec,
        key,
        healthId,
        pool,
        position: pool.backends.length,
        weight: spec.weight,
        status: healthId === undefined ? 'up' : (before?.status ?? 'unknown'),
        lastError: before?.lastError,
        lastHanded: previousByKey.get(key)?.lastHanded ?? -1,
      };
      pool.backends.push(backend);
      next.push(backend);
      if (healthId !== undefined) {
        this.byHealthId.set(healthId, backend);
        if (!before) start.push({ id: healthId, target: spec.check, intervalMs: spec.heartbeatMs });
      }
    }
    const stop = [...previousHealth.keys()].filter((id) => !this.byHealthId.has(id));
    this.backends = next;
    this.digest = config.digest;
    return { start, stop };
  }

  /** Every health actor the current configuration needs (to restart those that vanished). */
  healthPlans(): HealthPlan[] {
    const plans: HealthPlan[] = [];
    for (const [id, b] of this.byHealthId) plans.push({ id, target: b.spec.check, intervalMs: b.spec.heartbeatMs });
    return plans;
  }

  /** Records a health report; returns the backend when its status changed (for the log), else undefined. */
  setStatus(healthId: string, status: HealthStatus, error: string | undefined): Backend | undefined {
    const backend = this.byHealthId.get(healthId);
    if (!backend) return undefined;
    const changed = backend.status !== status;
    backend.status = status;
    backend.lastError = status === 'down' ? error : undefined;
    if (changed) backend.pool.live = undefined;
    return changed ? backend : undefined;
  }

  decide(request: StirrRequest): Decision {
    const algorithm = algorithmNamed(request.algorithm);
    if (!algorithm) {
      return { ok: false, reason: 'unknown_algorithm', error: `unknown algorithm "${request.algorithm}" (known: ${ALGORITHM_NAMES.join(', ')})` };
    }
    const types = this.groups.get(request.group);
    if (!types) return { ok: false, reason: 'unknown_group', error: `unknown group "${request.group}"` };
    const pool = types.get(request.type);
    if (!pool) {
      if (!isBackendType(request.type)) {
        return { ok: false, reason: 'unknown_type', error: `unknown type "${request.type}" (known: ${BACKEND_TYPES.join(', ')})` };
      }
      return { ok: false, reason: 'no_backend', error: `no backend of type "${request.type}" in group "${request.group}"` };
    }
    const live = pool.live ?? this.liveOf(pool);
    if (live.length === 0) {
      const last = pool.backends.find((b) => b.lastError !== undefined)?.lastError;
      return {
        ok: false,
        reason: 'all_down',
        error: `no backend of type "${request.type}" in group "${request.group}" is up (${pool.backends.length} down${last ? `; last error: ${last}` : ''})`,
      };
    }
    const chosen = algorithm(live, { random: this.random, cursor: pool.cursor });
    if (typeof chosen !== 'number') {
      return { ok: false, reason: chosen.reason, error: `${chosen.error} (type "${request.type}", group "${request.group}")` };
    }
    const backend = live[chosen] as Backend;
    backend.lastHanded = this.sequence++;
    return { ok: true, backend };
  }

  /** The reply to one decoded message: a configuration, or an error naming the cause. */
  answer(message: StirrInbound): { reply: StirrReply; reason: StirrErrorReason | undefined } {
    if (message.type === 'stirr.invalid') {
      return { reply: { envelope: message.envelope, body: stirrErrorBody(message.reason, message.error) }, reason: message.reason };
    }
    const decision = this.decide(message.request);
    if (decision.ok) return { reply: { envelope: message.envelope, body: decision.backend.spec.payload }, reason: undefined };
    return { reply: { envelope: message.envelope, body: stirrErrorBody(decision.reason, decision.error) }, reason: decision.reason };
  }

  summary(): BackendSummary[] {
    return this.backends.map((b) => ({
      index: b.spec.index,
      group: b.spec.group,
      type: b.spec.type,
      status: b.status,
      lastError: b.lastError,
      healthId: b.healthId,
    }));
  }

  /**
   * Up backends; while none is up, those not checked yet (a backend added by a
   * reload, or every backend right after start) rather than refusing a
   * request on a check that has not had time to run. Down ones never.
   */
  private liveOf(pool: Pool): Backend[] {
    const up = pool.backends.filter((b) => b.status === 'up');
    pool.live = up.length > 0 ? up : pool.backends.filter((b) => b.status === 'unknown');
    return pool.live;
  }

  private poolFor(group: string, type: string, create: boolean): Pool | undefined {
    let types = this.groups.get(group);
    if (!types) {
      if (!create) return undefined;
      types = new Map();
      this.groups.set(group, types);
    }
    let pool = types.get(type);
    if (!pool && create) {
      pool = { group, type, backends: [], cursor: { position: -1 }, live: undefined };
      types.set(type, pool);
    }
    return pool;
  }
}
