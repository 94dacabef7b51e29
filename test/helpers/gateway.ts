import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Gateway, type GatewayOptions } from '../../src/api/gateway.js';
import { GatewayBackend, type GatewayBackendOptions } from '../../src/api/gateway-backend.js';
import { eventually, withTimeout } from './zmq.js';

export const PYTHON_BACKEND = fileURLToPath(new URL('../peers/blastbeat_backend.py', import.meta.url));
/** Debian's python3 has python3-zmq; the one on PATH may not. */
export const PYTHON = '/usr/bin/python3';

/** Things a test started, stopped after it in reverse order. */
export class Cleanup {
  private readonly items: Array<() => Promise<void> | void> = [];

  add(fn: () => Promise<void> | void): void {
    this.items.push(fn);
  }

  async run(): Promise<void> {
    while (this.items.length > 0) {
      const fn = this.items.pop()!;
      try {
        await fn();
      } catch {
        // best effort: the next resource must still be released
      }
    }
  }
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly http: string;
  readonly port: number;
  readonly zmq: string;
}

/** A gateway on ephemeral loopback ports, one virtual host `127.0.0.1` (any port) unless told otherwise. */
export async function startGateway(cleanup: Cleanup, options: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const gateway = await Gateway.start({
    bind: ['127.0.0.1:0'],
    zmq: 'tcp://127.0.0.1:*',
    // Fast presence for tests, but not so fast that a node busy for a moment on two loaded cores is taken for gone.
    pingFreqMs: 250,
    headerTimeoutMs: 2_000,
    timeoutMs: 5_000,
    drainTimeoutMs: 200,
    vhosts: [{ name: '127.0.0.1', nodes: ['n1'] }],
    ...options,
  });
  cleanup.add(() => gateway.stop());
  const ep = await gateway.endpoints();
  const http = ep.http[0] ?? '';
  return { gateway, http, port: Number(new URL(http || 'http://x:0').port), zmq: ep.zmq };
}

export async function startBackend(cleanup: Cleanup, gw: TestGateway, options: Omit<GatewayBackendOptions, 'endpoint'>): Promise<GatewayBackend> {
  const backend = GatewayBackend.start({ endpoint: gw.zmq, ...options });
  cleanup.add(() => backend.close());
  await eventually(() => gw.gateway.availableNodes().includes(options.node), 5_000);
  return backend;
}

/** The Python BlastBeat-style backend as a child process, stopped by its pid. */
export async function startPythonBackend(cleanup: Cleanup, gw: TestGateway, node: string): Promise<ChildProcess> {
  const child = spawn(PYTHON, [PYTHON_BACKEND, gw.zmq, node], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await withTimeout(
    new Promise<void>((resolve, rejectStart) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
      });
      child.on('exit', (code) => rejectStart(new Error(`python backend exited ${code}: ${stderr}`)));
    }),
    5_000,
    'the python backend',
  );
  await eventually(() => gw.gateway.availableNodes().includes(node), 5_000);
  return child;
}

/**
 * A raw TCP conversation: writes `chunks` (pausing `gapMs` between them),
 * then collects bytes until `done(received)` or the peer closes, bounded.
 */
export async function rawExchange(
  port: number,
  chunks: readonly (string | Buffer)[],
  options: { done?: (received: string) => boolean; gapMs?: number; timeoutMs?: number } = {},
): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let text = '';
  let closed = false;
  const finished = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (options.done?.(text)) resolve();
    });
    socket.on('close', () => {
      closed = true;
      resolve();
    });
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  try {
    await withTimeout(finished, options.timeoutMs ?? 5_000, 'a raw HTTP exchange');
  } finally {
    socket.destroy();
  }
  return { text, closed };
}

/** The status codes of the responses in a raw byte stream, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Runs curl (Debian's) to completion, bounded. */
export function curl(args: string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', ['--silent', '--show-error', '--max-time', String(timeoutMs / 1000), ...args], { timeout: timeoutMs + 1000 }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : error ? 1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A self-signed certificate for these names, made with openssl in a temp folder. */
export function selfSigned(names: readonly string[]): Promise<{ dir: string; cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-gw-tls-'));
  const cert = join(dir, `${names[0]}.crt`);
  const key = join(dir, `${names[0]}.key`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  return new Promise((resolve, rejectCert) => {
    execFile(
      '/usr/bin/openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`],
      { timeout: 20_000 },
      (error, _stdout, stderr) => (error ? rejectCert(new Error(`openssl failed: ${stderr}`)) : resolve({ dir, cert, key })),
    );
  });
}
