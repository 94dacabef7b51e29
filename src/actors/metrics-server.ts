import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { startLoopbackServer, type LoopbackServer } from './http/loopback-server.js';

export interface MetricsServerOptions {
  readonly metrics: Metrics;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger?: Logger;
}

/** `--metrics PORT`: the role's metrics as Prometheus text at `http://127.0.0.1:PORT/metrics`. */
export function startMetricsServer(options: MetricsServerOptions): Promise<LoopbackServer> {
  const { metrics } = options;
  return startLoopbackServer({
    name: 'metrics',
    port: options.port,
    ...(options.logger ? { logger: options.logger } : {}),
    routes: {
      '/metrics': async (_req, res) => {
        const body = await metrics.scrape();
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(body);
      },
    },
  });
}
