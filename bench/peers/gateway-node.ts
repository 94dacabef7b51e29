/**
 * The TypeScript backend behind the gateway, in its own process:
 * `node gateway-node.js DIST ENDPOINT NODE` imports DIST/api/gateway-backend.js
 * at run time and answers every request like bench/peers/http-backend.ts
 * (the same body), echoing WebSocket messages. Prints `ready`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of `GatewayBackend` (src/api/gateway-backend.ts on the gateway branch) this uses. */
interface BackendWebSocketLike {
  send(data: string | Buffer): void;
  onMessage: ((data: string | Buffer) => void) | undefined;
}
interface GatewayBackendModule {
  readonly GatewayBackend: {
    start(options: {
      endpoint: string;
      node: string;
      onRequest: () => { status: number; headers: Record<string, string>; body: Buffer };
      onWebSocket: (socket: BackendWebSocketLike) => void;
    }): { close(): void };
  };
}

const BODY = Buffer.from('hello from node\n');
const [dist = 'dist', endpoint = 'tcp://127.0.0.1:5000', node = 'bench1'] = process.argv.slice(2);
const mod = (await import(pathToFileURL(join(dist, 'api/gateway-backend.js')).href)) as GatewayBackendModule;
const backend = mod.GatewayBackend.start({
  endpoint,
  node,
  onRequest: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: BODY }),
  onWebSocket: (socket) => {
    socket.onMessage = (data) => socket.send(data);
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  backend.close();
  process.exit(0);
});
