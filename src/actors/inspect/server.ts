import type { ServerResponse } from 'node:http';
import type { Logger } from '../../log.js';
import { startLoopbackServer, type LoopbackServer } from '../http/loopback-server.js';
import { PAGE_JS } from './page/client.js';
import { PAGE_HTML } from './page/html.js';
import { PAGE_CSS } from './page/style.js';
import type { InspectionSource } from './source.js';
import { InspectionStream } from './stream.js';

export interface InspectorServerOptions {
  readonly source: InspectionSource;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger?: Logger;
  /** Live viewers at most. */
  readonly maxViewers?: number;
}

export interface InspectorServer extends LoopbackServer {
  /** Viewers connected to the live stream now. */
  readonly viewers: () => number;
}

// The page loads only what this process serves.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'content-security-policy': CSP });
  res.end(body);
}

/**
 * The `--inspect` server: the page (`/`, `/app.js`, `/app.css`), the whole
 * state as JSON (`/api/state`), a machine's chart (`/api/chart?key=N`) and
 * the live stream (`/api/stream`, Server-Sent Events).
 */
export async function startInspectorServer(options: InspectorServerOptions): Promise<InspectorServer> {
  const { source } = options;
  const stream = new InspectionStream(source, options.maxViewers ?? 16);
  const server = await startLoopbackServer({
    name: 'inspector',
    port: options.port,
    ...(options.logger ? { logger: options.logger } : {}),
    routes: {
      '/': (_req, res) => send(res, 'text/html', PAGE_HTML),
      '/app.js': (_req, res) => send(res, 'text/javascript', PAGE_JS),
      '/app.css': (_req, res) => send(res, 'text/css', PAGE_CSS),
      '/api/state': (_req, res) => send(res, 'application/json', JSON.stringify(source.state())),
      '/api/chart': (_req, res, url) => {
        const key = Number(url.searchParams.get('key'));
        const chart = Number.isSafeInteger(key) ? source.chart(key) : undefined;
        if (!chart) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('no such chart\n');
          return;
        }
        send(res, 'application/json', JSON.stringify(chart));
      },
      '/api/stream': (_req, res) => {
        stream.open(res);
      },
    },
  });
  return {
    port: server.port,
    url: server.url,
    viewers: () => stream.size,
    close: async () => {
      stream.close();
      await server.close();
    },
  };
}
