/**
 * The live-heap probe of a peer process (bench/lib/ws-sessions.ts). A peer
 * started with `node --expose-gc` and a stdin pipe answers each `mem` line
 * with one `{"mem": {...}}` line, `process.memoryUsage()` after two full
 * collections, so the figure is what stays alive rather than garbage not
 * collected yet. Without `--expose-gc` it answers without collecting.
 */
import { createInterface } from 'node:readline';
import type { Proc } from './proc.js';

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

/** The line a peer prints, recognised by the bench. */
export const MEMORY_PREFIX = '{"mem":';

export function answerMemoryProbes(): void {
  if (process.stdin.isTTY) return;
  const gc = (globalThis as { gc?: () => void }).gc;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'mem') return;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    const sample: MemorySample = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external + m.arrayBuffers };
    process.stdout.write(`${JSON.stringify({ mem: sample, gc: gc !== undefined })}\n`);
  });
  // The bench closing the pipe is not a reason to exit: SIGTERM is.
  lines.on('close', () => undefined);
}

/** Asks a peer started with `answerMemoryProbes` (and a stdin pipe) for its memory. */
export async function probeMemory(proc: Proc, ms = 10_000): Promise<MemorySample> {
  const reply = proc.nextLine((line) => line.startsWith(MEMORY_PREFIX), ms);
  proc.send('mem');
  return (JSON.parse(await reply) as { mem: MemorySample }).mem;
}
