/**
 * A WebSocket chat backend node for the gateway: `chat1` in gateway.ini.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   node dist/main.js --role gateway -c examples/gateway/gateway.ini &
 *   node dist-bench/examples/gateway/chat-backend.js [tcp://127.0.0.1:5000] [--curve-server-key KEY --curve-secret-key-file FILE]
 *   open http://chat.localhost:8080/ in two browser tabs
 *
 * The gateway does the WebSocket handshake, pings and close; the node only
 * sees messages (`websocket` for text, `websocket-binary` for bytes) for
 * each client, keyed by its session id.
 */
import { GatewayBackend, type BackendWebSocket } from '../../src/api/gateway-backend.js';
import { nodeArgs } from './node-args.js';

const { endpoint, curve, logger } = await nodeArgs('chat1');
const MAX_NAME = 24;
const MAX_LINE = 500;

const page = `<!doctype html>
<meta charset="utf-8"><title>steward chat</title>
<style>body{font:16px system-ui;margin:2em}#log{height:60vh;overflow:auto;border:1px solid #ccc;padding:.5em}</style>
<div id="log"></div>
<form id="f"><input id="m" autocomplete="off" size="60" autofocus> <button>send</button></form>
<script>
const log = document.getElementById('log');
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
const show = (t) => { const p = document.createElement('div'); p.textContent = t; log.append(p); log.scrollTop = log.scrollHeight; };
ws.onmessage = (e) => show(e.data);
ws.onclose = (e) => show('[closed ' + e.code + ']');
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); const m = document.getElementById('m'); if (m.value) ws.send(m.value); m.value = ''; };
</script>`;

const members = new Map<BackendWebSocket, string>();
let joined = 0;

function broadcast(line: string): void {
  for (const socket of members.keys()) socket.send(line);
}

const backend = GatewayBackend.start({
  endpoint,
  node: 'chat1',
  ...(curve ? { curve } : {}),
  logger,
  onRequest: () => ({ headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: page }),
  onWebSocket: (socket) => {
    const name = `guest${++joined}`;
    members.set(socket, name);
    socket.send(`welcome, ${name}. Type /nick NAME to change your name.`);
    broadcast(`* ${name} joined`);
    socket.onMessage = (data) => {
      if (typeof data !== 'string') return socket.send('(binary messages are not relayed)');
      const text = data.slice(0, MAX_LINE);
      if (text.startsWith('/nick ')) {
        const old = members.get(socket) ?? name;
        const next = text.slice(6).trim().slice(0, MAX_NAME) || old;
        members.set(socket, next);
        broadcast(`* ${old} is now ${next}`);
        return;
      }
      broadcast(`${members.get(socket) ?? name}: ${text}`);
    };
    socket.onClose = () => {
      const left = members.get(socket) ?? name;
      members.delete(socket);
      broadcast(`* ${left} left`);
    };
  },
});
process.stdout.write(`chat1 serving through ${endpoint}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    backend.close();
    process.exit(0);
  });
}
