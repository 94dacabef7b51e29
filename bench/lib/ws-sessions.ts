import WebSocket from 'ws';
import { rssBytes, sleep } from './system.js';

export interface SessionMemory {
  readonly rssBeforeBytes: number;
  /** (sessions open, RSS growth in bytes since none were open), one per step. */
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Growth per session at the last step. */
  readonly bytesPerSession: number;
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
 * the server process `pid` grew. Every socket is closed before it returns.
 */
export async function memoryPerSession(url: string, pid: number, steps: readonly number[], batch = 100): Promise<SessionMemory> {
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
    return { rssBeforeBytes: before, points, bytesPerSession: growth / count };
  } finally {
    for (const s of sockets) s.terminate();
    await sleep(200);
  }
}
