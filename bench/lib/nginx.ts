import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, type Proc } from './proc.js';
import { freePort, until } from './system.js';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  readonly url: string;
  readonly proc: Proc;
  /** Stops nginx (by pid) and removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * The config: one process (no master, no daemon), everything it writes inside
 * `prefix`, one server on 127.0.0.1:`port` proxying to the backend with
 * keep-alive upstream connections. Big bodies stay in memory and stream, as
 * they do through the gateway: request bodies go upstream as they arrive
 * (`proxy_request_buffering off`, up to 16 MiB like the gateway's
 * `max-body-size`), and responses are buffered in memory only, never in a
 * temporary file (`proxy_max_temp_file_size 0`), so no row of nginx's pays for
 * a disk the gateway never touches.
 */
export function nginxConfig(prefix: string, port: number, backendPort: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    keepalive_requests 1000000;
    client_max_body_size 16m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffers 32 16k;
      proxy_busy_buffers_size 64k;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}

export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Debian's nginx as our own instance in a temp dir, proxying to 127.0.0.1:`backendPort`. */
export async function startNginx(backendPort: number): Promise<Nginx> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: apt-get install nginx-light`);
  const prefix = mkdtempSync(join(tmpdir(), 'steward-bench-nginx-'));
  for (const dir of ['body', 'proxy']) mkdirSync(join(prefix, dir));
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, port, backendPort));
  const proc = spawnProcess(NGINX, ['-c', conf, '-p', prefix, '-e', join(prefix, 'error.log')], { stderrLines: true });
  const stop = async () => {
    await proc.stop();
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await until('nginx listening', async () => {
      if (proc.child.exitCode !== null) throw new Error(`nginx exited with ${proc.child.exitCode}: ${proc.lines.join('\n')}`);
      return tcpOpen(port);
    }, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}/`, proc, stop };
}
