import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from './zmq.js';

/** A temp directory holding a balancer config file; `write` replaces the file the way an editor does (rename over it). */
export class ConfigDir {
  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  static async create(backends: unknown[]): Promise<ConfigDir> {
    const dir = await mkdtemp(join(tmpdir(), 'steward-balancer-'));
    const c = new ConfigDir(dir, join(dir, 'config.json'));
    await c.write(backends);
    return c;
  }

  private n = 0;

  async write(backends: unknown[]): Promise<void> {
    await this.writeText(JSON.stringify({ backends }, null, 2));
  }

  async writeText(text: string): Promise<void> {
    const tmp = join(this.dir, `.config.json.${this.n++}`);
    await writeFile(tmp, text);
    await rename(tmp, this.file);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A port nobody listens on right now (bound and released by the OS, so it is free a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server on 127.0.0.1 that can be stopped and started again on the same port, dropping its connections when stopped. */
export class TcpServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly onConnection: (socket: Socket) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      this.onConnection(socket);
    });
    await new Promise<void>((resolve, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A TCP proxy to another server: stopping it makes that server unreachable through this port. */
export function tcpProxy(port: number, target: { host: string; port: number }): TcpServer {
  return new TcpServer(port, (client) => {
    const upstream = connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
}

/** A redis-server of our own on a free port, without persistence; stopped by its pid. */
export class RedisServer {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let out = '';
    await withTimeout(
      new Promise<void>((resolve, rejectStart) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) resolve();
        });
        child.once('exit', (code) => rejectStart(new Error(`redis-server exited with ${code}: ${out}`)));
      }),
      10_000,
      'redis-server to start',
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await withTimeout(exited, 10_000, 'redis-server to exit');
  }
}
