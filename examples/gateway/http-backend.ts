/**
 * An HTTP backend node for the gateway: `web1` in gateway.ini.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   node dist/main.js --role gateway -c examples/gateway/gateway.ini &
 *   node dist-bench/examples/gateway/http-backend.js [tcp://127.0.0.1:5000] [--curve-server-key KEY --curve-secret-key-file FILE]
 *   curl http://localhost:8080/hello
 *
 * A BlastBeat backend is just a DEALER named after its node: this one is
 * written with the GatewayBackend helper, which answers pings, gathers
 * request bodies and sends each response as one message.
 */
import { GatewayBackend, type BackendRequest, type BackendResponse } from '../../src/api/gateway-backend.js';
import { nodeArgs } from './node-args.js';

const { endpoint, curve, logger } = await nodeArgs('web1');

async function* countdown(from: number): AsyncIterable<string> {
  for (let i = from; i > 0; i--) {
    yield `${i}...\n`;
    await new Promise((r) => setTimeout(r, 300));
  }
  yield 'liftoff\n';
}

function route(req: BackendRequest): BackendResponse {
  switch (req.path) {
    case '/':
    case '/hello':
      return { headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `hello, ${req.remoteAddress}:${req.remotePort}\n` };
    case '/echo':
      // POST a body: it comes back, with the type it was sent as.
      return { headers: { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream' }, body: req.body };
    case '/headers':
      return { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req.headers, null, 2) };
    case '/countdown':
      // An async iterable body is streamed as chunks (Transfer-Encoding: chunked).
      return { headers: { 'Content-Type': 'text/plain' }, body: countdown(5) };
    default:
      return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: `nothing at ${req.path}\n` };
  }
}

const backend = GatewayBackend.start({ endpoint, node: 'web1', onRequest: route, ...(curve ? { curve } : {}), logger });
process.stdout.write(`web1 serving through ${endpoint}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    backend.close();
    process.exit(0);
  });
}
