/** Steward's own processes for the benchmarks: a broker and workers from `dist/main.js`. */
import { Client } from '../../src/api/client.js';
import { MAIN, logLine, startProc, type Proc } from './proc.js';

export interface BrokerProc {
  readonly proc: Proc;
  readonly frontend: string;
  readonly backend: string;
  /** `http://127.0.0.1:PORT/metrics` when started with `metrics: true`. */
  readonly metricsUrl: string | undefined;
}

export interface BrokerStart {
  /** Write a CPU profile into this directory when the broker exits (`node --cpu-prof`). */
  readonly profileDir?: string;
  /** Serve Prometheus metrics on a free port (for counting registered workers). */
  readonly metrics?: boolean;
}

export async function startBroker(options: BrokerStart = {}): Promise<BrokerProc> {
  let endpoints: Record<string, string[]> = {};
  let metricsUrl: string | undefined;
  const node = cpuProfArgs(options.profileDir, 'broker');
  const proc = await startProc(
    [
      ...node,
      MAIN,
      '--role',
      'broker',
      '--frontend',
      'tcp://127.0.0.1:*',
      '--backend',
      'tcp://127.0.0.1:*',
      '--log-level',
      'info',
      ...(options.metrics ? ['--metrics', '0'] : []),
    ],
    (line) => {
      const l = logLine(line);
      if (l?.['msg'] === 'metrics listening') metricsUrl = l['url'] as string;
      if (l?.['msg'] !== 'broker listening') return false;
      endpoints = l['endpoints'] as Record<string, string[]>;
      return true;
    },
  );
  return { proc, frontend: endpoints['broker.frontend']![0]!, backend: endpoints['broker.backend']![0]!, metricsUrl };
}

/** `node --cpu-prof` flags writing `NAME-<time>.cpuprofile` into `dir`. */
export function cpuProfArgs(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
}

/** A `--role worker` process serving `service` with the built-in echo handler (on `--transport`, when given). */
export function startWorker(backend: string, service: string, concurrency: number, profileDir?: string, transport?: 'auto' | 'libzmq'): Promise<Proc> {
  return startProc(
    [
      ...cpuProfArgs(profileDir, 'worker'),
      MAIN,
      '--role',
      'worker',
      '--service',
      service,
      '--broker',
      backend,
      '--concurrency',
      String(concurrency),
      ...(transport ? ['--transport', transport] : []),
      '--log-level',
      'info',
    ],
    (line) => logLine(line)?.['msg'] === 'worker started',
  );
}

/** Waits until the broker routes to the service: one successful call. */
export async function warm(client: Client, service: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await client.call(service, 'warm', { timeout: 200, retries: 0 });
      return;
    } catch {
      // not registered yet
    }
  }
  throw new Error(`${service} never answered`);
}

/** Workers the broker has registered for `service`, from its metrics (steward_broker_workers). */
export async function registeredWorkers(metricsUrl: string, service: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('steward_broker_workers{') && l.includes(`service="${service}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
