/**
 * The TypeScript HTTP backend the front doors proxy to: Node's `http` server
 * answering every request with a small fixed body, keep-alive.
 * `node http-backend.js [PORT]`; prints its URL once listening.
 */
import { createServer } from 'node:http';

const BODY = Buffer.from('hello from node\n');
const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  response.end(BODY);
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
