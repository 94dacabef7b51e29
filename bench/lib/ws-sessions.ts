import WebSocket from 'ws';
import type { MemorySample } from './memory-probe.js';
import { rssBytes, sleep } from './system.js';

export interface SessionMemory {
  readonly rssBeforeBytes: number;
  /** (sessions open, RSS growth in bytes since none were open), one per step. */
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Growth per session at the last step. */
  readonly bytesPerSession: number;
  /**
   * With a probe: growth of the live heap (`heapUsed` after a forced GC) and of the heap V8 holds
   * (`heapTotal`) per session, from before the first step to the last.
   */
  readonly heapBytesPerSession?: number;
  readonly heapTotalBytesPerSession?: number;
}

/** Reads the server's memory after a forced GC (bench/lib/memory-probe.ts). */
export type MemoryProbe = () => Promise<MemorySample>;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, rejectOpen) => {
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    socket.once('open', () => resolve(socket));
    socket.once('error', rejectOpen);
  });
}

/**
 * Opens WebSockets to `url` up to each count of `steps` in turn (in batches,
 * bounded by the handshake timeout), leaves them idle, and samples how much
 * the server process `pid` grew. Every socket is closed before it returns.
 * With `probe`, the server's live heap is read before the first step and
 * after the last one (after the RSS sample, so the RSS curve is read as
 * without it; the first probe's collection comes before the RSS baseline).
 */
export async function memoryPerSession(url: string, pid: number, steps: readonly number[], batch = 100, probe?: MemoryProbe): Promise<SessionMemory> {
  const sockets: WebSocket[] = [];
  try {
    // One round trip first, so lazily-loaded code is not counted per session.
    const first = await open(url);
    await new Promise<void>((resolve) => {
      first.once('message', () => resolve());
      first.send('warm');
      setTimeout(resolve, 2_000);
    });
    first.close();
    await sleep(300);
    const heapBefore = await probe?.();
    const before = rssBytes(pid);
    const points: Array<readonly [number, number]> = [];
    for (const target of steps) {
      while (sockets.length < target) {
        const n = Math.min(batch, target - sockets.length);
        sockets.push(...(await Promise.all(Array.from({ length: n }, () => open(url)))));
      }
      await sleep(500);
      points.push([target, rssBytes(pid) - before]);
    }
    const [count, growth] = points[points.length - 1] ?? [1, Number.NaN];
    const heapAfter = heapBefore === undefined ? undefined : await probe?.();
    const heap =
      heapBefore === undefined || heapAfter === undefined
        ? {}
        : {
            heapBytesPerSession: (heapAfter.heapUsed - heapBefore.heapUsed) / count,
            heapTotalBytesPerSession: (heapAfter.heapTotal - heapBefore.heapTotal) / count,
          };
    return { rssBeforeBytes: before, points, bytesPerSession: growth / count, ...heap };
  } finally {
    for (const s of sockets) s.terminate();
    await sleep(200);
  }
}
