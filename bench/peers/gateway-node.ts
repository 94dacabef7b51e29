/**
 * The TypeScript backend behind the gateway, in its own process:
 * `node gateway-node.js DIST ENDPOINT NODE [TRANSPORT]` imports DIST/api/gateway-backend.js
 * at run time and answers like bench/peers/http-backend.ts (the same bodies:
 * `GET /chunked` as four 16 KiB chunks, any other request, an upload
 * included once it is whole, the small body), echoing WebSocket messages.
 * Prints `ready`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BODY, CHUNK, CHUNKS, UPLOAD_BYTES } from './gateway-bodies.js';

/** The part of `GatewayBackend` (src/api/gateway-backend.ts) this uses. */
interface BackendWebSocketLike {
  send(data: string | Buffer): void;
  onMessage: ((data: string | Buffer) => void) | undefined;
}
interface RequestLike {
  readonly path: string;
}
interface GatewayBackendModule {
  readonly GatewayBackend: {
    start(options: {
      endpoint: string;
      node: string;
      transport: 'auto' | 'libzmq';
      maxBodySize: number;
      onRequest: (request: RequestLike) => { status: number; headers: Record<string, string>; body: Buffer | AsyncIterable<Buffer> };
      onWebSocket: (socket: BackendWebSocketLike) => void;
    }): { close(): void };
  };
}

async function* chunked(): AsyncIterable<Buffer> {
  for (let i = 0; i < CHUNKS; i++) yield CHUNK;
}

const [dist = 'dist', endpoint = 'tcp://127.0.0.1:5000', node = 'bench1', transport = 'auto'] = process.argv.slice(2);
if (transport !== 'auto' && transport !== 'libzmq') throw new Error(`TRANSPORT must be auto or libzmq, got ${transport}`);
const mod = (await import(pathToFileURL(join(dist, 'api/gateway-backend.js')).href)) as GatewayBackendModule;
const backend = mod.GatewayBackend.start({
  endpoint,
  node,
  transport,
  maxBodySize: 2 * UPLOAD_BYTES,
  onRequest: (request) =>
    request.path === '/chunked'
      ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: chunked() }
      : { status: 200, headers: { 'content-type': 'text/plain' }, body: BODY },
  onWebSocket: (socket) => {
    socket.onMessage = (data) => socket.send(data);
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  backend.close();
  process.exit(0);
});
