import type { Logger } from '../../log.js';
import { sinkMachine, type SinkMachineConfig } from '../../machines/sink/sink.machine.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { JsonLimits } from '../../protocol/json.js';
import { DEFAULT_SINK_LIMITS, sinkCodec } from '../../protocol/sink.js';
import { curveServer, type CurveServerOptions } from '../../security/curve.js';
import { roleSupervisor, socketChild } from './parts.js';

export interface SinkTreeConfig extends Omit<SinkMachineConfig, 'logger'> {
  readonly name?: string;
  readonly bind: string;
  readonly limits?: Partial<JsonLimits>;
  /** CURVE on the PULL socket, with a ZAP allow-list of worker keys. */
  readonly curve?: CurveServerOptions;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export const sinkTreeIds = (name = 'sink') => ({ root: name, socket: `${name}.socket`, machine: `${name}.machine` });

/**
 * sink (rest_for_one)
 *   zap        with CURVE: the ZAP handler, bound before the socket listens
 *   socket     PULL, bound; events that do not decode are counted drops
 *   machine    logs and delivers each event
 */
export function sinkTree(config: SinkTreeConfig) {
  const ids = sinkTreeIds(config.name);
  const limits: JsonLimits = { ...DEFAULT_SINK_LIMITS, ...config.limits };
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...(config.metrics ? { metrics: config.metrics } : {}) });
  return roleSupervisor({
    name: ids.root,
    logger: config.logger,
    children: [
      ...curve.children,
      socketChild('socket', curve.secure({
          name: ids.socket,
          kind: 'pull',
          bind: [config.bind],
          owner: ids.machine,
          codec: sinkCodec(limits),
          // Above the event limit, so an oversized event reaches the codec and is counted as
          // a drop; only a peer sending far more is cut off by libzmq itself.
          options: { maxMessageSize: Math.max(16 * 1024 * 1024, limits.maxBytes + 1024), receiveHighWaterMark: 10_000 },
          logger: config.logger,
          ...(config.metrics ? { metrics: config.metrics } : {}),
        })),
      {
        id: 'machine',
        systemId: ids.machine,
        logic: sinkMachine({ ...config, socket: ids.socket, logger: config.logger }),
      },
    ],
  });
}
