/**
 * The baseline for memory per idle WebSocket session: a plain `ws` server on
 * Node's `http`, echoing messages. `node ws-server.js`; prints its URL, and
 * answers a `mem` line on stdin with its memory after a forced GC
 * (bench/lib/memory-probe.ts).
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { answerMemoryProbes } from '../lib/memory-probe.js';

const server = createServer((_request, response) => {
  response.writeHead(404).end();
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  socket.on('message', (data, binary) => socket.send(data, { binary }));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`ws://127.0.0.1:${address.port}/\n`);
});
answerMemoryProbes();
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
});
