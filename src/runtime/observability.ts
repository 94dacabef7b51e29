import { UsageError } from '../cli/errors.js';
import { endpointError, failedTo } from '../actors/endpoint-error.js';
import { flagInt, flagString, type Flags } from '../cli/role.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { InspectionSource } from '../actors/inspect/source.js';
import type { InspectOption } from '../actors/inspect/types.js';

export interface ObservabilityOptions {
  readonly flags: Flags;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What `--inspect`, `--inspect-stately` and `--metrics` started for one process. */
export interface Observability {
  /** For `RoleContext.inspect`; undefined unless an inspector was asked for. */
  readonly inspect: InspectOption | undefined;
  readonly source: InspectionSource | undefined;
  readonly inspectorUrl: string | undefined;
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

export const DEFAULT_INSPECT_PORT = 7777;

function statelyUrl(flags: Flags): string | undefined {
  const raw = flagString(flags, 'inspect-stately');
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
    throw new UsageError(`--inspect-stately must be a ws:// or wss:// URL, got "${raw}"`, '--inspect-stately ws://localhost:8080');
  }
  return url.href;
}

/** Starts a server on 127.0.0.1, or fails with one line naming the flag, the address and the cause (exit code 2). */
async function listening<T>(flag: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const why = endpointError(flag === 'inspect' ? 'inspector' : flag, 'listen', `127.0.0.1:${port}`, error);
    const hint = why.code === 'EADDRINUSE' ? `--${flag} ${port === 0 ? 0 : port + 1}` : why.code === 'EACCES' ? `--${flag} ${Math.max(port, 1024)}` : undefined;
    throw new UsageError(`--${flag}: ${failedTo('listen', why.endpoint)}: ${why.problem}`, hint);
  }
}

/**
 * Starts the process-wide observers the flags ask for. Inspection runs
 * through one `InspectionSource` shared by the page and the Stately bridge;
 * the role passes `inspect` to the root `createActor` of its tree.
 */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const { flags, logger, metrics } = options;
  const wantsInspector = flagString(flags, 'inspect') !== undefined;
  const inspectPort = flagInt(flags, 'inspect', DEFAULT_INSPECT_PORT, 0, 65_535);
  const stately = statelyUrl(flags);
  const wantsMetrics = flagString(flags, 'metrics') !== undefined;
  const metricsPort = flagInt(flags, 'metrics', 0, 0, 65_535);

  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    // The inspector and the metrics server are loaded only when asked for: every process that does
    // not need them keeps their code off its heap (see roles/index.ts).
    const source = wantsInspector || stately !== undefined ? new (await import('../actors/inspect/source.js')).InspectionSource() : undefined;
    if (source) closers.push(() => source.close());
    let inspectorUrl: string | undefined;
    if (source && wantsInspector) {
      const { startInspectorServer } = await import('../actors/inspect/server.js');
      const server = await listening('inspect', inspectPort, () => startInspectorServer({ source, port: inspectPort, logger }));
      closers.push(() => server.close());
      inspectorUrl = `${server.url}/`;
      logger.info({ url: inspectorUrl }, 'inspector listening');
    }
    if (source && stately !== undefined) {
      // Loaded only when asked for: the Stately package pulls in its own WebSocket stack.
      const { connectStately } = await import('../actors/inspect/stately.js');
      const bridge = connectStately({ url: stately, source, logger });
      closers.push(() => bridge.close());
      logger.info({ url: stately }, 'streaming actors to the Stately inspector');
    }
    let metricsUrl: string | undefined;
    if (wantsMetrics) {
      const { startMetricsServer } = await import('../actors/metrics-server.js');
      const server = await listening('metrics', metricsPort, () => startMetricsServer({ metrics, port: metricsPort, logger }));
      closers.push(() => server.close());
      metricsUrl = `${server.url}/metrics`;
      logger.info({ url: metricsUrl }, 'metrics listening');
    }
    return { inspect: source?.inspect, source, inspectorUrl, metricsUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}
