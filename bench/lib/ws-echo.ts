import WebSocket from 'ws';

export interface EchoOptions {
  readonly connections: number;
  /** Messages each connection keeps in flight. */
  readonly inFlight: number;
  readonly seconds: number;
  readonly payload?: string;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, rejectOpen) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', rejectOpen);
  });
}

/**
 * Echo round trips per second: `connections` WebSockets each keeping
 * `inFlight` messages out, every echo answered with the next message.
 * Half a second of warm-up is not counted. Every socket is closed before it returns.
 */
export async function measureEcho(url: string, options: EchoOptions): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: options.connections }, () => open(url)));
  const payload = options.payload ?? 'x'.repeat(32);
  let count = 0;
  let running = true;
  try {
    for (const ws of sockets) {
      ws.on('message', () => {
        count += 1;
        if (running) ws.send(payload);
      });
    }
    for (const ws of sockets) for (let i = 0; i < options.inFlight; i++) ws.send(payload);
    await new Promise((r) => setTimeout(r, 500));
    const start = count;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, options.seconds * 1000));
    return ((count - start) * 1000) / (performance.now() - t0);
  } finally {
    running = false;
    for (const ws of sockets) ws.terminate();
  }
}
