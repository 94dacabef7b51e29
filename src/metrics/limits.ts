import type { Counter } from 'prom-client';
import type { Metrics } from './registry.js';

export const LIMIT_HITS_METRIC = 'steward_limit_hits_total';

/**
 * The limits an operator sets, as the `limit` label of
 * `steward_limit_hits_total`. These names are part of the operations
 * contract (docs/operations.md): dashboards and alerts match them.
 */
export type LimitName =
  /** Bytes in one message (broker `--max-message-size`). */
  | 'message_size'
  /** Frames in one message (broker `--max-frames`). */
  | 'frames'
  /** Requests waiting per service (broker `--max-queue`). */
  | 'queue'
  /** Bytes held by all queued requests together, or by all streams' waiting parts together (broker `--max-queue-bytes`). */
  | 'queue_bytes'
  /** Bytes of one stream's partial replies waiting for its reader (broker `--max-stream-bytes`). */
  | 'stream_bytes'
  /** Distinct clients with requests queued or in flight (broker `--max-clients`). */
  | 'clients'
  /** Distinct services tracked (broker `--max-services`). */
  | 'services'
  /** Client connections per gateway (gateway `sessions` in [blastbeat]). */
  | 'gateway_sessions'
  /** Sessions per virtual host (gateway `sessions` in [blastbeat:HOST]). */
  | 'gateway_vhost_sessions'
  /** Sessions per gateway node (gateway `node-sessions`). */
  | 'gateway_node_sessions';

export function limitHits(metrics: Metrics): Counter<'limit'> {
  return metrics.counter(LIMIT_HITS_METRIC, 'Messages or peers refused because a configured limit was reached, by limit', ['limit']);
}
