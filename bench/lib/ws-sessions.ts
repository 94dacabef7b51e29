import WebSocket from 'ws';
import { rssBytes, sleep } from './system.js';

export interface SessionMemory {
  readonly sessions: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** (after - before) / sessions */
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
 * Opens `count` WebSockets to `url` (in batches, bounded by the handshake
 * timeout), leaves them idle, and reports how much the server process `pid`
 * grew per session. Every socket is closed before it returns.
 */
export async function memoryPerSession(url: string, pid: number, count: number, batch = 100): Promise<SessionMemory> {
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
    for (let i = 0; i < count; i += batch) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => open(url)))));
    }
    await sleep(1_000);
    const after = rssBytes(pid);
    return { sessions: count, rssBeforeBytes: before, rssAfterBytes: after, bytesPerSession: (after - before) / count };
  } finally {
    for (const s of sockets) s.terminate();
    await sleep(200);
  }
}
