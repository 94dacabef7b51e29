import type { Metrics } from '../../metrics/registry.js';
import type { BrokerCore, ServiceSummary } from './broker-core.js';

/** Counts already handed to prom-client; the core counts from zero again after a restart. */
export interface BrokerPublished {
  requests: number;
  replies: number;
  partials: number;
  readonly cancelled: Map<string, number>;
  readonly errors: Map<number, number>;
  readonly services: Map<string, { requests: number; replies: number }>;
}

export function newPublished(): BrokerPublished {
  return { requests: 0, replies: 0, partials: 0, cancelled: new Map(), errors: new Map(), services: new Map() };
}

/** Service names come from clients: past this many distinct label values, the rest count as `_other`. */
export const MAX_SERVICE_LABELS = 1000;
export const OTHER_SERVICE = '_other';

/**
 * The broker's Prometheus metrics. The routing core counts in plain numbers
 * on the hot path; `publish` hands the differences to prom-client on each
 * heartbeat tick and before each scrape, so no message pays for a label
 * lookup.
 */
export function brokerMetrics(metrics: Metrics | undefined, maxServiceLabels = MAX_SERVICE_LABELS) {
  const requests = metrics?.counter('steward_broker_requests_total', 'Client requests received (MMI excluded)');
  const replies = metrics?.counter('steward_broker_replies_total', 'Worker replies forwarded to clients');
  const serviceRequests = metrics?.counter('steward_broker_service_requests_total', 'Client requests accepted into a service queue', ['service']);
  const serviceReplies = metrics?.counter('steward_broker_service_replies_total', 'Worker replies forwarded, per service', ['service']);
  const errors = metrics?.counter(
    'steward_broker_errors_total',
    'Requests the broker answered with an error status (MDP clients cannot be told: theirs are dropped)',
    ['status'],
  );
  const workers = metrics?.gauge('steward_broker_workers', 'Registered workers per service', ['service']);
  const queue = metrics?.gauge('steward_broker_queue_depth', 'Requests waiting for a worker per service', ['service']);
  const inFlight = metrics?.gauge('steward_broker_in_flight', 'Requests handed to workers and not yet answered');
  const clients = metrics?.gauge('steward_broker_clients', 'Distinct clients with requests queued or in flight (see --max-clients)');
  const queueBytes = metrics?.gauge(
    'steward_broker_queue_bytes',
    'Bytes held by all queued requests together: bodies, service names and an estimate of their records (see --max-queue-bytes)',
  );
  const partials = metrics?.counter('steward_broker_partials_total', 'Partial replies of streams sent to clients');
  const cancelled = metrics?.counter(
    'steward_broker_cancelled_total',
    'Requests given up while their client waited: client (it cancelled), expired (while a worker held it), client_gone (a silent stream reader), overflow (a stream past its limits)',
    ['reason'],
  );
  const streams = metrics?.gauge('steward_broker_streams', 'Streams open: queued, in flight, or with parts waiting for their reader');
  const streamBytes = metrics?.gauge(
    'steward_broker_stream_held_bytes',
    'Bytes of partial replies waiting for slow stream readers, all streams together (see --max-stream-bytes)',
  );
  const latency = metrics?.plainHistogram(
    'steward_broker_request_duration_seconds',
    'Time from a request reaching the broker to its reply leaving it',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const labels = new Set<string>();
  const labelOf = (service: string) => {
    if (labels.has(service)) return service;
    if (labels.size >= maxServiceLabels) return OTHER_SERVICE;
    labels.add(service);
    return service;
  };

  const publishService = (svc: ServiceSummary, published: BrokerPublished) => {
    const seen = published.services.get(svc.name) ?? { requests: 0, replies: 0 };
    if (svc.requests > seen.requests) serviceRequests?.inc({ service: labelOf(svc.name) }, svc.requests - seen.requests);
    if (svc.replies > seen.replies) serviceReplies?.inc({ service: labelOf(svc.name) }, svc.replies - seen.replies);
    seen.requests = svc.requests;
    seen.replies = svc.replies;
    published.services.set(svc.name, seen);
  };

  return {
    observeLatency: latency ? (ms: number) => latency.record(ms / 1000) : undefined,

    publish(core: BrokerCore, published: BrokerPublished): void {
      if (!metrics) {
        core.retired.length = 0;
        return;
      }
      const { stats } = core;
      if (stats.requests > published.requests) requests?.inc(stats.requests - published.requests);
      if (stats.replies > published.replies) replies?.inc(stats.replies - published.replies);
      if (stats.partials > published.partials) partials?.inc(stats.partials - published.partials);
      published.requests = stats.requests;
      published.replies = stats.replies;
      published.partials = stats.partials;
      for (const [reason, n] of Object.entries(stats.cancelled)) {
        const seen = published.cancelled.get(reason) ?? 0;
        if (n > seen) cancelled?.inc({ reason }, n - seen);
        published.cancelled.set(reason, n);
      }
      for (const [status, n] of core.errors) {
        const seen = published.errors.get(status) ?? 0;
        if (n > seen) errors?.inc({ status: String(status) }, n - seen);
        published.errors.set(status, n);
      }
      // Retired first: their last counts, then they are forgotten (a service of that name starts again at zero).
      for (const svc of core.retired) {
        publishService(svc, published);
        published.services.delete(svc.name);
      }
      core.retired.length = 0;
      workers?.reset();
      queue?.reset();
      for (const svc of core.summary()) {
        publishService(svc, published);
        workers?.set({ service: svc.name }, svc.workers);
        queue?.set({ service: svc.name }, svc.queued);
      }
      inFlight?.set(core.inFlightCount);
      clients?.set(core.clientCount);
      queueBytes?.set(core.queuedBytes);
      streams?.set(core.streamCount);
      streamBytes?.set(core.streamHeldBytes);
    },
  };
}
