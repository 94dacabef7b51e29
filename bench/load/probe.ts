/**
 * Measures a process from inside without changing it: a preload
 * (`NODE_OPTIONS=--import=...`) that samples resident memory, heap and
 * event-loop delay (perf_hooks.monitorEventLoopDelay) every interval and
 * appends one JSON line per sample to a file. Used on the real broker
 * process (`node dist/main.js --role broker`) by the load and soak runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ProbeSample {
  /** Unix ms. */
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Memory of Buffers and other objects outside the V8 heap (message frames live there). */
  readonly external: number;
  /** Event-loop delay over the interval since the previous sample, in ms. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

// Plain JavaScript: it is loaded by node before the process's own code, from a file written at run time.
const PROBE_SOURCE = `
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const file = process.env.STEWARD_PROBE_FILE;
const every = Number(process.env.STEWARD_PROBE_MS || '1000');
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  setInterval(() => {
    const m = process.memoryUsage();
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) }) + '\\n');
    delay.reset();
  }, every).unref();
}
`;

export interface Probe {
  /** Environment for the measured process. */
  readonly env: NodeJS.ProcessEnv;
  /** Samples so far. */
  samples(): ProbeSample[];
  /** Removes the probe's files. */
  dispose(): void;
}

export function createProbe(intervalMs: number): Probe {
  const dir = mkdtempSync(join(tmpdir(), 'steward-probe-'));
  const script = join(dir, 'probe.mjs');
  const file = join(dir, 'samples.jsonl');
  writeFileSync(script, PROBE_SOURCE);
  writeFileSync(file, '');
  return {
    env: { NODE_OPTIONS: `--import=${pathToFileURL(script).href}`, STEWARD_PROBE_FILE: file, STEWARD_PROBE_MS: String(intervalMs) },
    samples: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as ProbeSample),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
