/**
 * The TypeScript HTTP backend the front doors proxy to: Node's `http` server,
 * keep-alive. `GET /chunked` answers 64 KiB as four 16 KiB chunks
 * (Transfer-Encoding: chunked); a request with a body (`POST /upload`) is
 * read to its end and answered; anything else gets a small fixed body.
 * `node http-backend.js [PORT]`; prints its URL once listening.
 */
import { createServer } from 'node:http';
import { BODY, CHUNK, CHUNKS } from './gateway-bodies.js';

const server = createServer((request, response) => {
  if (request.url === '/chunked') {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < CHUNKS; i++) response.write(CHUNK);
    response.end();
    return;
  }
  // Answered once the whole body is in, as a node does.
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    response.end(BODY);
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.maxRequestsPerSocket = 0;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`http://127.0.0.1:${address.port}/\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
