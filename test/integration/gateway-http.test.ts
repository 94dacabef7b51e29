import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendRequest, BackendResponse } from '../../src/api/gateway-backend.js';
import { Cleanup, curl, rawExchange, startBackend, startGateway, statuses } from '../helpers/gateway.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A backend that answers with what it saw, so tests can check the uwsgi vars. */
function echoBackend(seen: BackendRequest[] = []) {
  return (req: BackendRequest): BackendResponse => {
    seen.push(req);
    if (req.path === '/stream') {
      return {
        headers: { 'Content-Type': 'text/plain' },
        body: (async function* () {
          yield 'one ';
          yield Buffer.from('two ');
          yield 'three';
        })(),
      };
    }
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'X-Sid': req.sid.toString('hex') },
      body: JSON.stringify({ method: req.method, path: req.path, query: req.query, body: req.body.toString(), port: req.remotePort, vars: req.vars }),
    };
  };
}

function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; localPort: number }> {
  return new Promise((resolve, rejectGet) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, localPort: req.socket?.localPort ?? 0 }));
    });
    req.on('error', rejectGet);
    req.end();
  });
}

describe('gateway over HTTP with a TypeScript backend', () => {
  it('should forward a GET as uwsgi and return the response (fetch)', async () => {
    const gw = await startGateway(cleanup);
    const seen: BackendRequest[] = [];
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend(seen) });
    const res = await fetch(`${gw.http}/a%20b?x=1&y=2`, { headers: { 'X-Custom': 'yes' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { path: string; query: string; vars: Record<string, string> };
    expect(body.path).toBe('/a b');
    expect(body.query).toBe('x=1&y=2');
    expect(body.vars).toMatchObject({
      REQUEST_METHOD: 'GET',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(gw.port),
      REMOTE_ADDR: '127.0.0.1',
      HTTP_X_CUSTOM: 'yes',
      REQUEST_URI: '/a%20b?x=1&y=2',
    });
  });

  it('should keep a connection alive across requests, with one sid, and report REMOTE_PORT in host order', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend() });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.add(() => agent.destroy());
    const first = await get(agent, gw.port, '/1');
    const second = await get(agent, gw.port, '/2');
    expect(first.localPort).toBe(second.localPort);
    expect(first.headers['x-sid']).toBe(second.headers['x-sid']);
    expect(JSON.parse(first.body).port).toBe(first.localPort);
  });

  it('should answer pipelined requests in order on one connection', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: (req) => ({ body: `answer ${req.path}` }) });
    const requests = ['/p1', '/p2', '/p3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join('');
    const { text } = await rawExchange(gw.port, [requests], { done: (t) => t.includes('answer /p3') });
    expect(statuses(text)).toEqual([200, 200, 200]);
    expect([...text.matchAll(/answer (\/p\d)/g)].map((m) => m[1])).toEqual(['/p1', '/p2', '/p3']);
  });

  it('should stream a Content-Length request body to the node', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend() });
    const payload = 'x'.repeat(200_000);
    const res = await fetch(`${gw.http}/upload`, { method: 'POST', body: payload });
    const body = (await res.json()) as { body: string; vars: Record<string, string> };
    expect(body.body).toBe(payload);
    expect(body.vars['CONTENT_LENGTH']).toBe('200000');
  });

  it('should de-chunk a chunked request body (node http) for the node', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend() });
    const body = await new Promise<string>((resolve, rejectPost) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/chunked-in' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', rejectPost);
      req.write('first ');
      setTimeout(() => req.end('second'), 20);
    });
    const parsed = JSON.parse(body) as { body: string; vars: Record<string, string> };
    expect(parsed.body).toBe('first second');
    expect(parsed.vars['HTTP_TRANSFER_ENCODING']).toBe('chunked');
  });

  it('should frame a streamed response as chunks and keep the connection for the next request', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend() });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.add(() => agent.destroy());
    const streamed = await get(agent, gw.port, '/stream');
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.body).toBe('one two three');
    const next = await get(agent, gw.port, '/after');
    expect(next.localPort).toBe(streamed.localPort);
    expect(JSON.parse(next.body).path).toBe('/after');
  });

  it('should answer HEAD without a body and keep going', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'twelve bytes' }) });
    const { text } = await rawExchange(gw.port, ['HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], {
      done: (t) => t.endsWith('twelve bytes'),
    });
    expect(statuses(text)).toEqual([200, 200]);
    expect(text.match(/twelve bytes/g)).toHaveLength(1);
  });

  it('should serve curl: GET, POST of a large body (Expect: 100-continue) and a chunked upload', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: echoBackend() });
    const got = await curl(['-i', `${gw.http}/curl?q=1`]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    const big = 'y'.repeat(5000);
    const posted = await curl(['-H', 'Expect: 100-continue', '--data-binary', big, `${gw.http}/post`]);
    expect(JSON.parse(posted.stdout).body).toBe(big);
    const chunked = await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', 'via curl', `${gw.http}/chunked`]);
    expect(JSON.parse(chunked.stdout).body).toBe('via curl');
  });

  it('should close the connection when the client asks for it', async () => {
    const gw = await startGateway(cleanup);
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => ({ body: 'bye' }) });
    const { text, closed } = await rawExchange(gw.port, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n']);
    expect(statuses(text)).toEqual([200]);
    expect(closed).toBe(true);
  });

  it('should spread sessions over the available nodes, fewest sessions first', async () => {
    const gw = await startGateway(cleanup, { vhosts: [{ name: '127.0.0.1', nodes: ['n1', 'n2'] }] });
    const served: string[] = [];
    await startBackend(cleanup, gw, { node: 'n1', onRequest: () => (served.push('n1'), { body: 'n1' }) });
    await startBackend(cleanup, gw, { node: 'n2', onRequest: () => (served.push('n2'), { body: 'n2' }) });
    const agents = [new http.Agent({ keepAlive: true }), new http.Agent({ keepAlive: true })];
    for (const a of agents) cleanup.add(() => a.destroy());
    // Two connections held open at once: the second session must go to the other node.
    const [a, b] = await Promise.all(agents.map((agent) => get(agent, gw.port, '/')));
    expect([a!.body, b!.body].sort()).toEqual(['n1', 'n2']);
  });
});
