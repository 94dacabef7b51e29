import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AnyActorRef } from 'xstate';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { DropCounter } from '../metrics/drops.js';
import { limitHits } from '../metrics/limits.js';
import type { Metrics } from '../metrics/registry.js';
import { gatewaySession } from '../machines/gateway/session.machine.js';
import type { GatewayRegistry } from '../machines/gateway/registry.js';
import type { SessionActorContext } from '../machines/gateway/session.machine.js';
import type { SessionInput, SessionLimits } from '../machines/gateway/session-types.js';
import { gatewayResponse } from '../protocol/blastbeat/http-status.js';
import type { SupervisorEvent } from '../supervisor/types.js';
import { fromResource } from './from-resource.js';
import { endpointError } from './endpoint-error.js';
import { reportsStart } from '../supervisor/start-report.js';
import { GatewayConnection, type ConnectionDeps } from './gateway-connection.js';
import { Tally } from '../metrics/tally.js';
import { GatewayOutbox } from './gateway-outbox.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** A certificate for some virtual host names (SNI), PEM text. */
export interface TlsSite {
  readonly names: readonly string[];
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface HttpListenerConfig {
  /** Names the adapter in logs and metrics, e.g. `gateway.http`. */
  readonly name: string;
  readonly http: readonly ListenAddress[];
  readonly https: readonly ListenAddress[];
  /** Certificates by server name; the first is served to clients that send no SNI. */
  readonly tlsSites: readonly TlsSite[];
  /** systemId that receives `http.ready`. */
  readonly owner: string;
  /** systemId of the dynamic supervisor that holds sessions. */
  readonly sessions: string;
  /** Prefix of session systemIds (`gateway.sessions.` gives `gateway.sessions.s1`, ...). */
  readonly sessionPrefix: string;
  /** systemId of the ROUTER adapter the sessions' messages leave through. */
  readonly zmqSocket: string;
  readonly registry: GatewayRegistry;
  readonly limits: SessionLimits;
  /** Client connections at once; more get 503 and are closed. */
  readonly maxSessions: number;
  /** Bytes queued for a client that does not read before it is cut off. */
  readonly writeQueueLimit: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type HttpListenerEvent = { type: 'http.stopAccepting' } | { type: 'lifecycle.shutdown' };

const SID_BYTES = 16;
const SID_POOL = SID_BYTES * 1024;

/** 16 random bytes per connection, cut from a pool so a connection costs no syscall. */
function sidSource(): () => Buffer {
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + SID_BYTES > pool.length) {
      pool = randomBytes(SID_POOL);
      at = 0;
    }
    const sid = pool.subarray(at, at + SID_BYTES);
    at += SID_BYTES;
    return sid;
  };
}

/** Socket errors end in 'close', which the session hears; the error itself needs no handling. */
function ignoreError(): void {}

/**
 * A client socket's connection, so one set of listener functions serves
 * every socket: an idle connection keeps no closure per event.
 */
const CONNECTION: unique symbol = Symbol('steward.gatewayConnection');
type ConnectedSocket = net.Socket & { [CONNECTION]?: GatewayConnection };

function onData(this: ConnectedSocket, data: Buffer): void {
  this[CONNECTION]?.data(data);
}

function onEnd(this: ConnectedSocket): void {
  this[CONNECTION]?.send({ type: 'conn.end' });
}

function onClose(this: ConnectedSocket): void {
  this[CONNECTION]?.send({ type: 'conn.closed' });
}

function listen(server: net.Server, address: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, rejectListen) => {
    const onError = (error: Error) => rejectListen(error);
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      const bound = server.address() as net.AddressInfo;
      resolve({ host: address.host, port: bound.port });
    });
  });
}

/** Listens, or says which address could not be had and why (`EndpointError`, named `where`). */
async function listenOrExplain(server: net.Server, address: ListenAddress, where: string): Promise<ListenAddress> {
  try {
    return await listen(server, address);
  } catch (error) {
    throw endpointError(where, 'listen', hostPort(address), error);
  }
}

/** `host:port` as the gateway's bind and --bind are written (IPv6 in brackets). */
function hostPort(a: ListenAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

function url(scheme: 'http' | 'https', a: ListenAddress): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${scheme}://${host}:${a.port}`;
}

/**
 * The gateway's HTTP and HTTPS front door: owns the listening servers and
 * every client socket. Each connection becomes a gateway-session actor
 * under the sessions supervisor; socket events go to it as `conn.*` events
 * and its commands come back here to be carried out (writes, close, pause)
 * or batched for the nodes (`GatewayOutbox`). The session decides; this
 * adapter only moves bytes. A session that ends, or crashes, takes its
 * socket with it.
 */
export function httpListener(config: HttpListenerConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: config.name });
  const now = config.now ?? Date.now;
  const registry = config.registry;
  const metrics = config.metrics;
  const connections = metrics?.counter('steward_gateway_connections_total', 'Client connections accepted', ['scheme']);
  const requests = metrics ? new Tally(metrics, metrics.counter('steward_gateway_requests_total', 'Requests forwarded to nodes (WebSocket upgrades included)')) : undefined;
  const errors = metrics?.counter('steward_gateway_errors_total', 'Requests the gateway answered or cut itself, by status and reason', ['status', 'reason']);
  const limits = metrics ? limitHits(metrics) : undefined;
  const httpConnections = connections?.labels({ scheme: 'http' });
  const httpsConnections = connections?.labels({ scheme: 'https' });

  // How a failed HTTPS listen names the server: `gateway.https` beside `gateway.http`.
  const httpsName = config.name.endsWith('http') ? `${config.name}s` : `${config.name}.https`;

  const logic = fromResource<HttpListenerEvent, void>(({ system, receive, fail, started }) => {
    const drops = new DropCounter(config.name, metrics, log);
    const outbox = new GatewayOutbox(
      () => system.get(config.zmqSocket) as AnyActorRef | undefined,
      (n) => {
        for (let i = 0; i < n; i++) drops.drop('no_backend_socket');
      },
      (node) => registry.nodes.byRoutingId(node)?.readsBatches === true,
      () => registry.nodesPort,
    );
    const newSid = sidSource();
    /** Session ids: short, and unique in this tree (the sid, not the id, is what the nodes see). */
    let sessionCount = 0;
    const live = new Set<GatewayConnection>();
    const servers: net.Server[] = [];
    let closed = false;

    const deps: ConnectionDeps = {
      registry,
      outbox,
      drops,
      log,
      writeQueueLimit: config.writeQueueLimit,
      requests,
      errors,
      limitHits: limits,
      onFinish: (conn) => live.delete(conn),
    };

    const accept = (socket: net.Socket, secure: boolean) => {
      socket.on('error', ignoreError);
      if (closed) {
        socket.destroy();
        return;
      }
      (secure ? httpsConnections : httpConnections)?.inc();
      if (live.size >= config.maxSessions) {
        drops.drop('too_many_sessions', `${live.size} open`);
        limits?.inc({ limit: 'gateway_sessions' });
        socket.end(gatewayResponse(503, 'the gateway has its maximum of connections', true));
        return;
      }
      socket.setNoDelay(true);
      const conn = new GatewayConnection(socket, newSid(), deps);
      sessionCount += 1;
      const id = `s${sessionCount.toString(36)}`;
      const input: SessionInput = {
        sid: conn.sid,
        peer: {
          remoteAddress: socket.remoteAddress ?? '',
          remotePort: socket.remotePort ?? 0,
          localPort: socket.localPort ?? 0,
          tls: secure,
        },
        limits: config.limits,
        route: registry.route,
        out: conn.command,
        now,
      };
      const start: SupervisorEvent = {
        type: 'supervisor.startChild',
        spec: { id, systemId: `${config.sessionPrefix}${id}`, logic: gatewaySession, input, restart: 'temporary' },
      };
      const sessions = system.get(config.sessions) as AnyActorRef | undefined;
      if (sessions === undefined || sessions.getSnapshot().status !== 'active') {
        socket.end(gatewayResponse(503, 'the gateway is not accepting sessions', true));
        return;
      }
      sessions.send(start);
      const ref = system.get(`${config.sessionPrefix}${id}`) as AnyActorRef | undefined;
      if (ref === undefined) {
        socket.end(gatewayResponse(503, 'the gateway is not accepting sessions', true));
        return;
      }
      conn.ref = ref;
      conn.ctx = (ref.getSnapshot() as { context: SessionActorContext }).context.session;
      live.add(conn);
      registry.sessions.set(conn.key, conn);
      if (ref.getSnapshot().status !== 'active') {
        conn.finish(undefined);
        return;
      }
      (socket as ConnectedSocket)[CONNECTION] = conn;
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onClose);
    };

    const stopAccepting = () => {
      for (const server of servers) server.close();
    };

    receive((event) => {
      if (event.type === 'http.stopAccepting' || event.type === 'lifecycle.shutdown') stopAccepting();
    });

    void (async () => {
      try {
        const http: string[] = [];
        const https: string[] = [];
        for (const address of config.http) {
          const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => accept(socket, false));
          servers.push(server);
          http.push(url('http', await listenOrExplain(server, address, config.name)));
          if (closed) return;
        }
        if (config.https.length > 0) {
          const [first] = config.tlsSites;
          if (first === undefined) throw new Error('HTTPS needs at least one certificate');
          const contexts = new Map<string, tls.SecureContext>();
          for (const site of config.tlsSites) {
            const context = tls.createSecureContext({ cert: site.cert, key: site.key });
            for (const name of site.names) contexts.set(name.toLowerCase(), context);
          }
          for (const address of config.https) {
            const server = tls.createServer(
              {
                cert: first.cert,
                key: first.key,
                allowHalfOpen: true,
                ALPNProtocols: ['http/1.1'],
                handshakeTimeout: config.limits.headerTimeoutMs,
                SNICallback: (servername, cb) => cb(null, contexts.get(servername.toLowerCase())),
              },
              (socket) => accept(socket, true),
            );
            server.on('tlsClientError', (error) => drops.drop('tls_handshake', error.message));
            servers.push(server);
            https.push(url('https', await listenOrExplain(server, address, httpsName)));
            if (closed) return;
          }
        }
        log.debug({ http, https }, 'http listening');
        started();
        (system.get(config.owner) as AnyActorRef | undefined)?.send({ type: 'http.ready', http, https });
      } catch (error) {
        if (closed) return;
        log.error({ err: error, http: config.http, https: config.https }, 'listen failed');
        fail(error);
      }
    })();

    return () => {
      closed = true;
      for (const server of servers) server.close();
      for (const conn of [...live]) {
        conn.alive = false;
        if (conn.boundNode !== undefined) registry.unbind(conn.boundNode, conn.boundVhost);
        registry.sessions.delete(conn.key);
        conn.socket.destroy();
      }
      live.clear();
    };
  });
  // Started once every server listens: a port that cannot be had fails the gateway's start.
  return reportsStart(logic);
}

export type HttpListenerLogic = ReturnType<typeof httpListener>;
