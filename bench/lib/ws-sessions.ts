import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { MemorySample } from './memory-probe.js';
import { rssBytes, sleep } from './system.js';

export interface StepMemory {
  /** Growth of the server's RSS since no session was open, per open session. */
  readonly rssPerSession: number;
  /** Growth of its live heap (`heapUsed` after a forced GC) per session, and of the heap V8 holds (`heapTotal`). */
  readonly heapPerSession: number;
  readonly heapTotalPerSession: number;
}

export interface SessionMemory {
  readonly rssBeforeBytes: number;
  /** (sessions open, RSS growth in bytes since none were open), one per step. */
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Per step asked to be probed: RSS, live heap and heapTotal growth per session. */
  readonly at: ReadonlyMap<number, StepMemory>;
}

/** Reads the server's memory after a forced GC (bench/lib/memory-probe.ts). */
export type MemoryProbe = () => Promise<MemorySample>;

/** This process's RLIMIT_NOFILE (soft), from /proc: every idle session is a descriptor on each side. */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m === null || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

/** The most idle sessions one process can hold here, in thousands, with room for its other descriptors. */
export function maxIdleSessions(wanted: number): number {
  const limit = openFileLimit();
  return Math.min(wanted, Math.floor((limit - 500) / 1000) * 1000);
}

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
 * the server process `pid` grew. At the steps in `probeAt` its live heap is
 * read too (after the RSS sample, so the RSS figure is read as without it).
 * Every socket is closed before it returns.
 */
export async function memoryPerSession(
  url: string,
  pid: number,
  steps: readonly number[],
  probe: MemoryProbe,
  probeAt: readonly number[] = [steps[steps.length - 1] as number],
  batch = 100,
): Promise<SessionMemory> {
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
    const heapBefore = await probe();
    const before = rssBytes(pid);
    const points: Array<readonly [number, number]> = [];
    const at = new Map<number, StepMemory>();
    for (const target of steps) {
      while (sockets.length < target) {
        const n = Math.min(batch, target - sockets.length);
        sockets.push(...(await Promise.all(Array.from({ length: n }, () => open(url)))));
      }
      await sleep(500);
      const growth = rssBytes(pid) - before;
      points.push([target, growth]);
      if (probeAt.includes(target)) {
        const heap = await probe();
        at.set(target, {
          rssPerSession: growth / target,
          heapPerSession: (heap.heapUsed - heapBefore.heapUsed) / target,
          heapTotalPerSession: (heap.heapTotal - heapBefore.heapTotal) / target,
        });
      }
    }
    return { rssBeforeBytes: before, points, at };
  } finally {
    for (const s of sockets) s.terminate();
    await sleep(200);
  }
}
