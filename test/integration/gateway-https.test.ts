import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { withTimeout } from '../helpers/zmq.js';
import { Cleanup, curl, selfSigned, startBackend, startGateway } from '../helpers/gateway.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let alpha: { cert: string; key: string; certFile: string };
let beta: { cert: string; key: string; certFile: string };

beforeAll(async () => {
  const [a, b] = await Promise.all([selfSigned(['alpha.test']), selfSigned(['beta.test'])]);
  alpha = { cert: readFileSync(a.cert, 'utf8'), key: readFileSync(a.key, 'utf8'), certFile: a.cert };
  beta = { cert: readFileSync(b.cert, 'utf8'), key: readFileSync(b.key, 'utf8'), certFile: b.cert };
}, 30_000);

async function twoSites() {
  const gw = await startGateway(cleanup, {
    bind: [],
    bindSsl: ['127.0.0.1:0'],
    vhosts: [
      { name: 'alpha.test', nodes: ['a'], cert: alpha.cert, key: alpha.key },
      { name: 'beta.test', nodes: ['b'], cert: beta.cert, key: beta.key },
    ],
  });
  const ep = await gw.gateway.endpoints();
  const port = Number(new URL(ep.https[0]!).port);
  await startBackend(cleanup, gw, { node: 'a', onRequest: (req) => ({ body: `alpha ${req.vars['HTTPS']} ${req.path}` }), onWebSocket: (s) => (s.onMessage = (d) => s.send(d)) });
  await startBackend(cleanup, gw, { node: 'b', onRequest: (req) => ({ body: `beta ${req.path}` }) });
  return { gw, port };
}

function get(port: number, host: string, ca: string): Promise<{ body: string; peerCN: string }> {
  return new Promise((resolve, rejectGet) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/x', servername: host, headers: { Host: host }, ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ body, peerCN: String((res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN) }));
    });
    req.on('error', rejectGet);
    req.end();
  });
}

describe('gateway over HTTPS', () => {
  it('should serve each virtual host with its own certificate, chosen by SNI', async () => {
    const { port } = await twoSites();
    expect(await get(port, 'alpha.test', alpha.cert)).toEqual({ body: 'alpha on /x', peerCN: 'alpha.test' });
    expect(await get(port, 'beta.test', beta.cert)).toEqual({ body: 'beta /x', peerCN: 'beta.test' });
  });

  it('should serve curl verifying the self-signed certificate', async () => {
    const { port } = await twoSites();
    const res = await curl(['--cacert', beta.certFile, '--resolve', `beta.test:${port}:127.0.0.1`, `https://beta.test:${port}/via-curl`]);
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('beta /via-curl');
  });

  it('should carry a secure WebSocket (wss)', async () => {
    const { port } = await twoSites();
    // ws hands TLS options to tls.connect; its types do not list servername.
    const options: WebSocket.ClientOptions & { servername: string } = { ca: alpha.cert, servername: 'alpha.test', headers: { Host: 'alpha.test' } };
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, options);
    cleanup.add(() => {
      ws.on('error', () => undefined);
      ws.terminate();
    });
    await withTimeout(new Promise<void>((resolve, rejectOpen) => {
      ws.once('open', () => resolve());
      ws.once('error', rejectOpen);
    }), 5_000, 'wss open');
    ws.send('secret');
    const echoed = await withTimeout(new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))), 5_000, 'echo');
    expect(echoed).toBe('secret');
  });
});
