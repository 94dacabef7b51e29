/**
 * CURVE for steward's sockets, the one piece every role shares.
 *
 * A server tree adopts it with two lines:
 *
 *     const curve = curveServer(config.curve, { server: ids.root, logger, metrics });
 *     children: [...curve.children, { ..., logic: zmqSocket(curve.secure({ name, kind: 'router', ... })) }, ...]
 *
 * `children` is the ZAP handler (first, so it is bound before any socket
 * listens); `secure` turns a socket config into a CURVE server socket in the
 * handler's ZAP domain that waits for the handler before it binds. Without
 * CURVE options both are no-ops, so plain TCP stays the default.
 */
import type * as zmq from 'zeromq';
import type { SocketOptions, SocketSetup, ZmqSocketConfig } from '../actors/zmq-socket.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChildSpec } from '../supervisor/types.js';
import type { EventObject } from 'xstate';
import { derivePublicKey, generateKeyPair } from './keys.js';
import { RefusalLog } from './refusals.js';
import { zapHandler } from './zap-handler.js';
import { zapHub } from './zap-hub.js';
import { isZ85Key } from './z85.js';

export interface CurveServerOptions {
  /** The server's secret key (Z85). */
  readonly secretKey: string;
  /** Its public key (Z85); derived from the secret key when left out. */
  readonly publicKey?: string;
  /** Z85 public keys of the clients let in; every other key is refused. */
  readonly allow: readonly string[];
  /** The file `allow` was read from: SIGHUP (or `zap.reload`) reads it again. */
  readonly allowFile?: string;
}

export interface CurveClientOptions {
  /** The server's public key (Z85). */
  readonly serverKey: string;
  /** This client's secret key; without one a fresh pair is made (and its key must then be allowed some other way). */
  readonly secretKey?: string;
  readonly publicKey?: string;
}

/** A client's keys, all three known: what a socket needs. */
export interface ResolvedCurveClient {
  readonly serverKey: string;
  readonly publicKey: string;
  readonly secretKey: string;
}

export interface CurveScope {
  /** The server's name in logs, metrics and its ZAP domain: its tree name. */
  readonly server: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export interface CurveServerSetup {
  /** The ZAP handler: put these first among the tree's children. Empty without CURVE. */
  readonly children: ChildSpec[];
  /** systemId of the ZAP handler (send it `zap.reload`), when CURVE is on. */
  readonly zapId: string | undefined;
  /** The server's public key, when CURVE is on. */
  readonly publicKey: string | undefined;
  /** A server socket's config with CURVE on; returned unchanged without CURVE. */
  secure<In extends EventObject, Out>(socket: ZmqSocketConfig<In, Out>): ZmqSocketConfig<In, Out>;
}

/** systemId of a tree's ZAP handler. */
export const zapHandlerId = (tree: string) => `${tree}.zap`;

let domainSeq = 0;

function checkKey(what: string, key: string): void {
  if (!isZ85Key(key)) throw new TypeError(`${what} is not a CURVE key (40 characters of Z85); make a pair with \`steward keygen\``);
}

/** The public key of a pair given as secret (and maybe public) key, checked. */
export function publicKeyOf(what: string, secretKey: string, publicKey: string | undefined): string {
  checkKey(`${what}.secretKey`, secretKey);
  const derived = derivePublicKey(secretKey);
  if (derived === undefined) throw new TypeError(`${what}.secretKey is not a usable CURVE secret key`);
  if (publicKey !== undefined && publicKey !== derived) throw new TypeError(`${what}.publicKey does not belong to ${what}.secretKey`);
  return derived;
}

export function curveServer(options: CurveServerOptions | undefined, scope: CurveScope): CurveServerSetup {
  if (!options) return { children: [], zapId: undefined, publicKey: undefined, secure: (socket) => socket };
  const publicKey = publicKeyOf('curve', options.secretKey, options.publicKey);
  options.allow.forEach((key, i) => checkKey(`curve.allow[${i}]`, key));
  // Unique per tree instance: two servers of the same name in one process keep separate allow-lists.
  domainSeq += 1;
  const domain = `${scope.server}#${domainSeq}`;
  const zapId = zapHandlerId(scope.server);
  const refusals = new RefusalLog(scope.server, scope.metrics, scope.logger);
  const children: ChildSpec[] = [
    {
      id: 'zap',
      systemId: zapId,
      logic: zapHandler({
        server: scope.server,
        domain,
        allow: options.allow,
        ...(options.allowFile !== undefined ? { allowFile: options.allowFile } : {}),
        ownKey: publicKey,
        refusals,
        logger: scope.logger,
      }),
    },
  ];
  const curveOptions: SocketOptions = { curveServer: true, curveSecretKey: options.secretKey, curvePublicKey: publicKey, zapDomain: domain };
  const watch: SocketSetup = async (socket) => {
    await zapHub.ready(domain);
    return watchServerHandshakes(socket, refusals);
  };
  return {
    children,
    zapId,
    publicKey,
    secure: (socket) => ({ ...socket, options: { ...socket.options, ...curveOptions }, setup: chain(socket.setup, watch) }),
  };
}

/**
 * Handshakes that fail before ZAP is asked (a plain-TCP peer, a CURVE peer
 * using another server key) are refusals too. libzmq names only the server's
 * endpoint for them, not the peer. ZAP refusals are counted by the handler,
 * so `handshake:error:auth` is not counted again here.
 */
function watchServerHandshakes(socket: zmq.Socket, refusals: RefusalLog): () => void {
  const events = socket.events;
  const onFailure = (e: { address: string; error: Error & { code?: string } }) =>
    refusals.refused('handshake', { endpoint: e.address, error: e.error.code ?? e.error.message });
  events.on('handshake:error:protocol', onFailure);
  events.on('handshake:error:other', onFailure);
  return () => {
    events.off('handshake:error:protocol', onFailure);
    events.off('handshake:error:other', onFailure);
  };
}

function chain(first: SocketSetup | undefined, second: SocketSetup): SocketSetup {
  if (!first) return second;
  return async (socket) => {
    const a = await first(socket);
    const b = await second(socket);
    return () => {
      b?.();
      a?.();
    };
  };
}

/** A client's keys with the gaps filled: its public key derived, or a fresh pair when it has none. */
export function resolveCurveClient(options: CurveClientOptions, what = 'curve'): ResolvedCurveClient {
  checkKey(`${what}.serverKey`, options.serverKey);
  if (options.secretKey === undefined) {
    const pair = generateKeyPair();
    return { serverKey: options.serverKey, publicKey: pair.publicKey, secretKey: pair.secretKey };
  }
  const publicKey = publicKeyOf(what, options.secretKey, options.publicKey);
  return { serverKey: options.serverKey, publicKey, secretKey: options.secretKey };
}

/** zeromq.js options for a CURVE client socket. */
export function curveClientSocketOptions(keys: ResolvedCurveClient): SocketOptions & { curveServerKey: string; curveSecretKey: string; curvePublicKey: string } {
  return { curveServerKey: keys.serverKey, curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey };
}

const CLIENT_LOG_INTERVAL_MS = 10_000;

/**
 * Tells the client's owner why nothing gets through: the server refused its
 * key (ZAP said no), or the handshake failed (wrong server key, or a server
 * without CURVE). Logged at most once per interval per kind; libzmq keeps
 * reconnecting after a handshake error.
 */
export function watchClientHandshakes(socket: zmq.Socket, log: Logger, keys: ResolvedCurveClient): () => void {
  const last = new Map<string, number>();
  const report = (kind: string, message: string, address: string, detail: string | undefined) => {
    const now = Date.now();
    const at = last.get(kind);
    if (at !== undefined && now - at < CLIENT_LOG_INTERVAL_MS) return;
    last.set(kind, now);
    log.warn({ endpoint: address, publicKey: keys.publicKey, serverKey: keys.serverKey, detail }, message);
  };
  const events = socket.events;
  const onAuth = (e: { address: string; error: Error & { status?: number } }) =>
    report('auth', 'the server refused this client\'s CURVE key (not on its allow-list)', e.address, e.error.status !== undefined ? String(e.error.status) : e.error.message);
  const onProtocol = (e: { address: string; error: Error & { code?: string } }) =>
    report('protocol', 'CURVE handshake failed (wrong server key, or the server does not use CURVE)', e.address, e.error.code ?? e.error.message);
  events.on('handshake:error:auth', onAuth);
  events.on('handshake:error:protocol', onProtocol);
  return () => {
    events.off('handshake:error:auth', onAuth);
    events.off('handshake:error:protocol', onProtocol);
  };
}

/** A client socket's config with CURVE on (keys resolved once, so reconnects keep them); unchanged without CURVE. */
export function secureClientSocket<In extends EventObject, Out>(
  socket: ZmqSocketConfig<In, Out>,
  keys: ResolvedCurveClient | undefined,
  log: Logger,
): ZmqSocketConfig<In, Out> {
  if (!keys) return socket;
  const watch: SocketSetup = (s) => watchClientHandshakes(s, log, keys);
  return { ...socket, options: { ...socket.options, ...curveClientSocketOptions(keys) }, setup: chain(socket.setup, watch) };
}
