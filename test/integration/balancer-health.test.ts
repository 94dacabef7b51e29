import { createServer, type Server } from 'node:http';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { Balancer, BalancerClient, BalancerError } from '../../src/api/balancer.js';
import { runCheck } from '../../src/actors/health/index.js';
import { ConfigDir, RedisServer, TcpServer, freePort, tcpProxy } from '../helpers/balancer.js';
import { ANY, eventually } from '../helpers/zmq.js';

// Checked every 200 ms: a stopped server must be skipped within two of these, a restarted one taken back.
const HEARTBEAT = 0.2;
const WAIT = 10_000;
const MYSQL = { host: '127.0.0.1', port: 3306 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(backends: unknown[]) {
  const dir = await ConfigDir.create(backends);
  cleanups.push(() => dir.remove());
  const balancer = await Balancer.start({ configFile: dir.file, bind: ANY, watch: false });
  cleanups.push(() => balancer.stop());
  const client = new BalancerClient({ endpoint: await balancer.endpoint(), timeoutMs: 5_000 });
  cleanups.push(() => client.close());
  return { balancer, client };
}

/** What the balancer answers right now: a configuration, or the error's reason. */
async function answer(client: BalancerClient, request: Parameters<BalancerClient['get']>[0]): Promise<unknown> {
  try {
    return await client.get(request);
  } catch (error) {
    if (error instanceof BalancerError) return error.reason;
    throw error;
  }
}

/**
 * Two backends of one type: the one under test and a healthy witness. While
 * the first is down every answer is the witness; once it is back, RoundRobin
 * hands it out again within two requests.
 */
async function handedOut(client: BalancerClient, request: Parameters<BalancerClient['get']>[0], name: string): Promise<boolean> {
  const a = await answer(client, { ...request, algorithm: 'RoundRobin' });
  const b = await answer(client, { ...request, algorithm: 'RoundRobin' });
  return [a, b].some((x) => (x as { name?: string } | undefined)?.name === name);
}

async function skipped(client: BalancerClient, request: Parameters<BalancerClient['get']>[0], name: string): Promise<boolean> {
  for (let i = 0; i < 4; i++) if (await handedOut(client, request, name)) return false;
  return true;
}

describe('balancer health checks against real servers on 127.0.0.1', () => {
  it('Tcp: a stopped listener is skipped, and taken back once it listens again', async () => {
    const [port, witnessPort] = [await freePort(), await freePort()];
    const server = new TcpServer(port);
    const witness = new TcpServer(witnessPort);
    await server.start();
    await witness.start();
    cleanups.push(() => server.stop(), () => witness.stop());
    const { client, balancer } = await start([
      { type: 'Tcp', heartbeat: HEARTBEAT, configuration: { name: 'tcp', host: '127.0.0.1', port } },
      { type: 'Tcp', heartbeat: HEARTBEAT, configuration: { name: 'witness', host: '127.0.0.1', port: witnessPort } },
    ]);
    await eventually(() => balancer.backends().every((b) => b.status === 'up'), WAIT);
    expect(await handedOut(client, { type: 'Tcp' }, 'tcp')).toBe(true);
    await server.stop();
    await eventually(() => balancer.backends()[0]?.status === 'down', WAIT);
    expect(balancer.backends()[0]?.lastError).toMatch(/ECONNREFUSED/);
    expect(await skipped(client, { type: 'Tcp' }, 'tcp')).toBe(true);
    await server.start();
    await eventually(() => handedOut(client, { type: 'Tcp' }, 'tcp'), WAIT, 50);
  });

  it('Http: down while the server answers non-2xx or is stopped, up again on 2xx', async () => {
    let status = 200;
    const port = await freePort();
    let server: Server | undefined;
    const listen = async () => {
      server = createServer((req, res) => {
        res.writeHead(req.url === '/health' ? status : 404).end('ok');
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
    };
    const close = async () => {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    };
    await listen();
    cleanups.push(close);
    const { client, balancer } = await start([
      { type: 'Http', heartbeat: HEARTBEAT, configuration: { name: 'http', url: `http://127.0.0.1:${port}/health` } },
      { type: 'Base', configuration: { name: 'base' } },
    ]);
    await eventually(() => balancer.backends()[0]?.status === 'up', WAIT);
    expect(await answer(client, { type: 'Http' })).toEqual({ name: 'http', url: `http://127.0.0.1:${port}/health` });
    status = 503;
    await eventually(() => balancer.backends()[0]?.status === 'down', WAIT);
    expect(balancer.backends()[0]?.lastError).toMatch(/HTTP 503/);
    expect(await answer(client, { type: 'Http' })).toBe('all_down');
    status = 204;
    await eventually(() => balancer.backends()[0]?.status === 'up', WAIT);
    await close();
    await eventually(() => balancer.backends()[0]?.status === 'down', WAIT);
    await listen();
    await eventually(async () => (await answer(client, { type: 'Http' })) !== 'all_down', WAIT, 50);
  });

  it('Redis: a killed redis-server is skipped, and taken back once started again', async () => {
    const port = await freePort();
    const redis = new RedisServer(port);
    await redis.start();
    cleanups.push(() => redis.stop());
    const witnessPort = await freePort();
    const witness = new RedisServer(witnessPort);
    await witness.start();
    cleanups.push(() => witness.stop());
    const { client, balancer } = await start([
      { group: 'cache', type: 'Redis', heartbeat: HEARTBEAT, configuration: { name: 'redis', port } },
      { group: 'cache', type: 'Redis', heartbeat: HEARTBEAT, configuration: { name: 'witness', port: witnessPort } },
    ]);
    await eventually(() => balancer.backends().every((b) => b.status === 'up'), WAIT);
    expect(await handedOut(client, { group: 'cache', type: 'Redis' }, 'redis')).toBe(true);
    await redis.stop();
    await eventually(() => balancer.backends()[0]?.status === 'down', WAIT);
    expect(await skipped(client, { group: 'cache', type: 'Redis' }, 'redis')).toBe(true);
    await redis.start();
    await eventually(() => handedOut(client, { group: 'cache', type: 'Redis' }, 'redis'), WAIT, 50);
  });

  it('MySQL: up against the running MariaDB, down when unreachable (through a proxy that stops), up again', async () => {
    const port = await freePort();
    const proxy = tcpProxy(port, MYSQL);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const { client, balancer } = await start([
      { group: 'db', type: ['MySQL', 'root', ''], heartbeat: HEARTBEAT, configuration: { name: 'proxied', host: '127.0.0.1', port } },
      { group: 'db', type: ['MySQL', 'root', ''], heartbeat: HEARTBEAT, configuration: { name: 'direct', ...MYSQL } },
    ]);
    await eventually(() => balancer.backends().every((b) => b.status === 'up'), WAIT);
    expect(await handedOut(client, { group: 'db', type: 'MySQL' }, 'proxied')).toBe(true);
    await proxy.stop();
    await eventually(() => balancer.backends()[0]?.status === 'down', WAIT);
    expect(await skipped(client, { group: 'db', type: 'MySQL' }, 'proxied')).toBe(true);
    await proxy.start();
    await eventually(() => handedOut(client, { group: 'db', type: 'MySQL' }, 'proxied'), WAIT, 50);
  });

  it('MySQL: down with the server\'s reason for a wrong password or a closed port', async () => {
    const closed = await freePort();
    const { balancer } = await start([
      { group: 'db', type: ['MySQL', 'steward_nobody', 'wrong'], heartbeat: HEARTBEAT, configuration: MYSQL },
      { group: 'db', type: ['MySQL', 'root', ''], heartbeat: HEARTBEAT, configuration: { host: '127.0.0.1', port: closed } },
    ]);
    await eventually(() => balancer.backends().every((b) => b.status === 'down'), WAIT);
    const [denied, refused] = balancer.backends();
    expect(denied?.lastError).toMatch(/Access denied/);
    expect(refused?.lastError).toMatch(/ECONNREFUSED/);
  });

  it('MySQL: judged by Threads_connected against max_connections, as stirr did', async () => {
    const held: Connection[] = [];
    cleanups.push(async () => {
      for (const c of held) await c.end().catch(() => undefined);
    });
    // Two connections of our own keep the load at 3/151 or more: above a 1% limit whatever else runs.
    for (let i = 0; i < 2; i++) held.push(await createConnection({ ...MYSQL, user: 'root', password: '' }));
    const busy = await runCheck({ target: { kind: 'MySQL', ...MYSQL, user: 'root', password: '', maxLoad: 0.01 }, timeoutMs: 5_000 });
    expect(busy.ok).toBe(false);
    expect(!busy.ok && busy.error).toMatch(/overloaded, \d+ of \d+ connections \(limit 1%\)/);
    const fine = await runCheck({ target: { kind: 'MySQL', ...MYSQL, user: 'root', password: '', maxLoad: 0.9 }, timeoutMs: 5_000 });
    expect(fine).toEqual({ ok: true, detail: expect.stringMatching(/^\d+ of \d+ connections$/) });
  });

  it('should bound every check by its timeout and leave no connection behind', async () => {
    // A server that accepts and never speaks: MySQL and Redis wait for a greeting, HTTP for a status line, that never come.
    let open = 0;
    let accepted = 0;
    const silent = new TcpServer(await freePort(), (socket) => {
      open += 1;
      accepted += 1;
      // Read and discard: a socket whose data nobody reads never sees the client's FIN.
      socket.resume();
      socket.on('close', () => (open -= 1));
    });
    await silent.start();
    cleanups.push(() => silent.stop());
    const { port } = silent;
    const mysql = await runCheck({ target: { kind: 'MySQL', host: '127.0.0.1', port, user: 'u', password: '', maxLoad: 0.9 }, timeoutMs: 200 });
    expect(mysql).toEqual({ ok: false, error: `mysql 127.0.0.1:${port}: timed out` });
    const redis = await runCheck({ target: { kind: 'Redis', host: '127.0.0.1', port, password: undefined }, timeoutMs: 200 });
    expect(redis).toEqual({ ok: false, error: `redis 127.0.0.1:${port}: timed out` });
    const http = await runCheck({ target: { kind: 'Http', url: `http://127.0.0.1:${port}/` }, timeoutMs: 200 });
    expect(http).toEqual({ ok: false, error: `GET http://127.0.0.1:${port}/: timed out` });
    for (let i = 0; i < 5; i++) {
      expect(await runCheck({ target: { kind: 'Tcp', host: '127.0.0.1', port }, timeoutMs: 1_000 })).toEqual({ ok: true });
    }
    await eventually(() => accepted === 8 && open === 0, 5_000).catch(() => {
      throw new Error(`accepted ${accepted}, still open ${open}`);
    });
  });
});
