import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';

/** Handles one GET (or HEAD) of a known path; the query string is in `url`. */
export type LoopbackRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface LoopbackServerOptions {
  /** Names the server in logs. */
  readonly name: string;
  /** 0 picks a free port (read it back from `port`). */
  readonly port: number;
  /** Exact paths, e.g. `/metrics`. Anything else is 404. */
  readonly routes: Readonly<Record<string, LoopbackRoute>>;
  readonly logger?: Logger;
  readonly maxConnections?: number;
}

export interface LoopbackServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_URL_LENGTH = 2048;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${message}\n`);
}

/**
 * Host header check: a page on another site that rebinds its name to
 * 127.0.0.1 must not read this server. Only the name is checked, so an SSH
 * tunnel to another local port still works.
 */
function loopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_HOSTS.has((name ?? '').toLowerCase());
}

/**
 * A small HTTP server for operators on this machine only: bound to
 * 127.0.0.1, GET and HEAD of known paths, no request bodies, bounded header
 * size, URL length and connection count. The inspector and the metrics
 * endpoint are built on it.
 */
export function startLoopbackServer(options: LoopbackServerOptions): Promise<LoopbackServer> {
  const log = (options.logger ?? silentLogger).child({ server: options.name });
  let port = options.port;
  const server: Server = createServer(
    { maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'no-store');
      const raw = req.url ?? '/';
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' });
      if (raw.length > MAX_URL_LENGTH) return refuse(res, 414, 'URL too long');
      if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
        return refuse(res, 413, 'no request bodies here');
      }
      if (!loopbackHost(req.headers.host)) return refuse(res, 421, 'use http://127.0.0.1:PORT');
      let url: URL;
      try {
        url = new URL(raw, `http://${HOST}:${port}`);
      } catch {
        return refuse(res, 400, 'bad URL');
      }
      const route = Object.hasOwn(options.routes, url.pathname) ? options.routes[url.pathname] : undefined;
      if (!route) return refuse(res, 404, 'not found');
      void (async () => {
        try {
          await route(req, res, url);
        } catch (error) {
          log.error({ err: error, path: url.pathname }, 'request failed');
          if (!res.headersSent) refuse(res, 500, 'internal error');
          else res.destroy();
        }
      })();
    },
  );
  server.maxConnections = options.maxConnections ?? 64;
  return new Promise((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, HOST, () => {
      server.off('error', rejectListen);
      server.on('error', (error) => log.error({ err: error }, 'server error'));
      port = (server.address() as AddressInfo).port;
      resolve({
        port,
        url: `http://${HOST}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
