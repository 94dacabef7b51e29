import * as net from 'node:net';
import { rmSync } from 'node:fs';
import type { EventObject } from 'xstate';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { DropCounter } from '../metrics/drops.js';
import type { Metrics } from '../metrics/metrics.js';
import { Tally } from '../metrics/tally.js';
import type { Codec } from '../protocol/codec.js';
import { DEFAULT_FRAME_LIMITS, encodedSize } from '../protocol/zmtp/frames.js';
import type { Metadata } from '../protocol/zmtp/commands.js';
import { ZmtpConnection } from '../protocol/zmtp/connection.js';
import { reportsStart } from '../supervisor/start-report.js';
import { EndpointError, endpointError } from './endpoint-error.js';
import { fromResource } from './from-resource.js';
import { decodeInto, encodeEach, OwnerLink } from './socket-owner.js';
import { writeMessages } from './zmtp-write.js';
import type { ZmqCommand, ZmqOwnerEvent } from './zmq-socket.js';

export interface ZmtpRouterConfig<In extends EventObject, Out> {
  /** Socket name in logs and metrics, e.g. `gateway.zmq`. */
  readonly name: string;
  /** `tcp://HOST:PORT` (`*` for any port or any address) or `ipc://PATH`. */
  readonly bind: readonly string[];
  /** systemId of the actor that receives `zmq.ready` and `zmq.batch`. */
  readonly owner: string;
  readonly codec: Codec<In, Out>;
  /** A peer connecting under a routing id in use takes it; the older connection gets an anonymous one. */
  readonly handover?: boolean;
  /** Largest frame accepted from a peer; more closes its connection (libzmq's ZMQ_MAXMSGSIZE). */
  readonly maxMessageSize?: number;
  /** Frames of one message accepted; a longer message is dropped whole. */
  readonly maxFrames?: number;
  /** Bytes waiting to be written to one peer beyond which messages to it are dropped (`peer_full`). */
  readonly maxQueuedBytes?: number;
  /** How long a connection may take to complete the ZMTP handshake. */
  readonly handshakeTimeoutMs?: number;
  /** On a graceful shutdown, how long queued bytes may take to leave (ms). */
  readonly closeLingerMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

const BIND_ATTEMPTS = 20;
const BIND_RETRY_MS = 50;

/** One connected peer. */
class Peer {
  /** Routing id, once the handshake has given it one. */
  id: Buffer | undefined = undefined;
  key = '';
  /** Messages for this peer in the command being carried out. */
  pending: Buffer[][] | undefined = undefined;
  /** Messages read before the owner asked to pause, not yet handed over; delivered first on resume. */
  held: EventObject[] = [];
  pendingBytes = 0;
  timer: NodeJS.Timeout | undefined;
  conn!: ZmtpConnection;

  constructor(readonly socket: net.Socket) {}
}

interface Listen {
  readonly kind: 'tcp' | 'ipc';
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

/** `tcp://127.0.0.1:*`, `tcp://*:5000`, `tcp://[::1]:5000`, `ipc:///tmp/x.sock` (or `ipc://@abstract`). */
export function parseBindEndpoint(endpoint: string): Listen | undefined {
  if (endpoint.startsWith('ipc://')) {
    const path = endpoint.slice('ipc://'.length);
    if (path.length === 0) return undefined;
    return { kind: 'ipc', host: '', port: 0, path: path.startsWith('@') ? `\0${path.slice(1)}` : path };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\*|\d{1,5})$/.exec(endpoint);
  if (!m) return undefined;
  const rawHost = m[1] as string;
  const host = rawHost === '*' ? '0.0.0.0' : rawHost.replace(/^\[|\]$/g, '');
  const port = m[2] === '*' ? 0 : Number(m[2]);
  if (port > 65535) return undefined;
  return { kind: 'tcp', host, port, path: '' };
}

/** Whether this transport can bind `endpoint` (tcp or ipc); inproc and the rest stay with libzmq. */
export function zmtpCanBind(endpoint: string): boolean {
  return parseBindEndpoint(endpoint) !== undefined;
}

function listen(server: net.Server, at: Listen): Promise<string> {
  return new Promise((resolve, rejectListen) => {
    const onError = (error: Error) => rejectListen(error);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      if (at.kind === 'ipc') return resolve(`ipc://${at.path.startsWith('\0') ? `@${at.path.slice(1)}` : at.path}`);
      const a = server.address() as net.AddressInfo;
      resolve(`tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    };
    if (at.kind === 'ipc') {
      // libzmq removes a stale socket file before it binds; so does this.
      if (!at.path.startsWith('\0')) rmSync(at.path, { force: true });
      server.listen(at.path, done);
    } else server.listen({ host: at.host, port: at.port, exclusive: true }, done);
  });
}

async function listenWithRetry(server: net.Server, at: Listen, rebinding: boolean, isClosed: () => boolean): Promise<string> {
  // A socket this process closed a moment ago (a restart) may still hold the port briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      return await listen(server, at);
    } catch (error) {
      if (!rebinding || (error as { code?: string }).code !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS || isClosed()) throw error;
      await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
    }
  }
}

/**
 * A ZeroMQ ROUTER speaking ZMTP 3.1 itself, over node's `net`: the same
 * adapter contract as `zmqSocket` (`zmq.ready` with its port, one `zmq.batch`
 * per read or the owner's inlet, `zmq.send`, `zmq.pause`, the start phase),
 * for DEALER, REQ and ROUTER peers on
 * any libzmq (or other ZMTP 3) stack, NULL mechanism only (with CURVE, use
 * `zmqSocket`). Why: zeromq.js costs a few microseconds per message and per
 * frame in each direction, and libzmq hands every message between two
 * threads; here a read of many messages is one `data` event and a burst of
 * sends to one peer is one write. Behaves like the ROUTER steward configures
 * elsewhere (`mandatory`, `sendTimeout: 0`, `handover`): a message to an
 * unknown peer, or to one whose queue is full, is a counted drop, never a
 * wait; a peer reconnecting under its name takes it at once.
 */
export function zmtpRouter<In extends EventObject, Out>(config: ZmtpRouterConfig<In, Out>) {
  const log = (config.logger ?? silentLogger).child({ socket: config.name });
  const handover = config.handover ?? true;
  const limits = { maxFrameSize: config.maxMessageSize ?? DEFAULT_FRAME_LIMITS.maxFrameSize, maxFrames: config.maxFrames ?? DEFAULT_FRAME_LIMITS.maxFrames };
  const maxQueuedBytes = config.maxQueuedBytes ?? 64 * 1024 * 1024;
  const handshakeTimeoutMs = config.handshakeTimeoutMs ?? 30_000;
  const closeLingerMs = config.closeLingerMs ?? 1_000;
  const resolved = new Map<string, string>();

  const logic = fromResource<ZmqCommand<Out, In>, void>(({ system, self, receive, fail, done, started }) => {
    const drops = new DropCounter(config.name, config.metrics, config.logger ?? silentLogger);
    const sent = config.metrics ? new Tally(config.metrics, config.metrics.messagesSent, { socket: config.name }) : undefined;
    const received = config.metrics ? new Tally(config.metrics, config.metrics.messagesReceived, { socket: config.name }) : undefined;
    const servers: net.Server[] = [];
    const peers = new Set<Peer>();
    /** Routing id (latin1) to peer. */
    const routes = new Map<string, Peer>();
    let anonymous = Math.floor(Math.random() * 0x7fffffff);
    let closed = false;
    let endpoints: string[] | undefined;
    let touched: Peer[] = [];
    /** The last routing id looked up, by object: a burst to one node repeats the same Buffer. */
    let lastId: Buffer | undefined;
    let lastPeer: Peer | undefined;

    const link = new OwnerLink<In, Out>(system, self, config.owner, drops);
    const deliver = (event: ZmqOwnerEvent<In, Out>) => link.deliver(event);
    const decode = (frames: Buffer[], batch: In[]) => decodeInto(config.codec, frames, batch, drops);
    let paused = false;

    const newAnonymousId = (): Buffer => {
      // libzmq's form: a zero byte (never a name a peer may choose) and a 32-bit counter.
      const id = Buffer.allocUnsafe(5);
      id[0] = 0;
      anonymous = (anonymous + 1) >>> 0;
      id.writeUInt32BE(anonymous, 1);
      return id;
    };

    const route = (peer: Peer, id: Buffer) => {
      peer.id = id;
      peer.key = id.toString('latin1');
      routes.set(peer.key, peer);
      peer.conn.setPrefix(id);
      lastId = undefined;
    };

    const drop = (peer: Peer) => {
      if (!peers.delete(peer)) return;
      if (peer.timer !== undefined) clearTimeout(peer.timer);
      peer.conn.close();
      if (peer.id !== undefined && routes.get(peer.key) === peer) routes.delete(peer.key);
      lastId = undefined;
      lastPeer = undefined;
      if (!peer.socket.destroyed) peer.socket.destroy();
    };

    const ready = (peer: Peer, metadata: Metadata) => {
      if (peer.timer !== undefined) clearTimeout(peer.timer);
      peer.timer = undefined;
      const identity = metadata.properties.get('identity');
      const wanted = identity !== undefined && identity.length > 0 && identity[0] !== 0 ? Buffer.from(identity) : undefined;
      if (wanted === undefined) {
        route(peer, newAnonymousId());
        return;
      }
      const key = wanted.toString('latin1');
      const holder = routes.get(key);
      if (holder !== undefined) {
        if (!handover) {
          // libzmq without handover keeps the first connection and refuses the newcomer.
          log.warn({ peer: key.slice(0, 64) }, 'routing id in use: connection refused');
          drop(peer);
          return;
        }
        routes.delete(key);
        route(holder, newAnonymousId());
        log.info({ peer: key.slice(0, 64) }, 'routing id handed over to a new connection');
      }
      route(peer, wanted);
      log.debug({ peer: key.slice(0, 64), remote: peer.socket.remoteAddress }, 'peer connected');
    };

    const accept = (socket: net.Socket) => {
      if (closed) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      const peer = new Peer(socket);
      let batch: In[] = [];
      let count = 0;
      peer.conn = new ZmtpConnection(
        {
          write: (bytes) => {
            if (!socket.destroyed) socket.write(bytes);
          },
          ready: (metadata) => ready(peer, metadata),
          message: (frames) => {
            decode(frames, batch);
            count += 1;
          },
          skipped: (frames) => {
            // Received, and refused under the label a codec gives a message with too many frames.
            drops.drop('too_many_frames', `${frames} frames`);
            count += 1;
          },
          failed: (problem) => {
            drops.drop(problem.reason, problem.detail);
            drop(peer);
          },
        },
        'ROUTER',
        limits,
      );
      peers.add(peer);
      peer.timer = setTimeout(() => {
        drops.drop('zmtp_handshake_timeout', `${handshakeTimeoutMs} ms`);
        drop(peer);
      }, handshakeTimeoutMs);
      if (paused) socket.pause();
      socket.on('data', (chunk: Buffer) => {
        peer.conn.receive(chunk);
        if (count > 0) {
          received?.add(count);
          count = 0;
        }
        if (batch.length > 0) {
          const messages = batch;
          batch = [];
          handOver(peer, messages);
        }
      });
      socket.on('close', () => drop(peer));
      peer.conn.start();
    };

    const isPaused = () => paused;
    const handOver = (peer: Peer, messages: In[]) => link.handOver(config.name, messages, isPaused, peer.held as In[]);

    const peerOf = (id: Buffer): Peer | undefined => {
      if (id === lastId) return lastPeer;
      const peer = routes.get(id.toString('latin1'));
      // Only a hit is remembered; any change to the table forgets it.
      if (peer !== undefined) {
        lastId = id;
        lastPeer = peer;
      }
      return peer;
    };

    const queue = (frames: Buffer[]) => {
      const peer = frames.length > 1 ? peerOf(frames[0] as Buffer) : undefined;
      if (peer === undefined) {
        drops.drop('unroutable');
        return;
      }
      if (peer.socket.writableLength + peer.pendingBytes > maxQueuedBytes) {
        drops.drop('peer_full', `${peer.socket.writableLength} bytes queued`);
        return;
      }
      if (peer.pending === undefined) {
        peer.pending = [];
        touched.push(peer);
      }
      peer.pending.push(frames);
      peer.pendingBytes += encodedSize(frames, 1);
    };

    /** Each peer's messages of this command as few writes as its sizes allow (actors/zmtp-write.ts). */
    const flushPeer = (peer: Peer) => {
      const messages = peer.pending as Buffer[][];
      const total = peer.pendingBytes;
      peer.pending = undefined;
      peer.pendingBytes = 0;
      if (peer.socket.destroyed) return;
      writeMessages(peer.socket, messages, 1, total);
      if (sent !== undefined) for (let i = 0; i < messages.length; i++) sent.inc();
    };

    const sendBurst = (messages: readonly Out[]) => {
      if (closed) {
        for (let i = 0; i < messages.length; i++) drops.drop('closed');
        return;
      }
      encodeEach(config.codec, messages, drops, queue);
      const peersToFlush = touched;
      touched = [];
      for (let i = 0; i < peersToFlush.length; i++) flushPeer(peersToFlush[i] as Peer);
    };

    /** The writing side, handed to the owner with `zmq.ready`: a burst to the nodes costs no actor event. */
    const port = link.port(config.name, sendBurst);

    receive((command) => {
      if (closed || link.take(command)) return;
      switch (command.type) {
        case 'zmq.send':
          sendBurst(command.messages);
          break;
        case 'zmq.pause':
          // Stop reading the peers: TCP's own flow control then holds the senders back.
          paused = true;
          for (const peer of peers) peer.socket.pause();
          break;
        case 'zmq.resume':
          paused = false;
          for (const peer of peers) {
            if (peer.held.length > 0) {
              const held = peer.held as In[];
              peer.held = [];
              handOver(peer, held);
            }
            // A hand-over above may have paused again.
            if (!paused) peer.socket.resume();
          }
          break;
        case 'zmq.announce':
          if (endpoints !== undefined) deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
          break;
        case 'zmq.subscribe':
        case 'zmq.unsubscribe':
          // As on a libzmq ROUTER (zmq-socket.ts): a command this socket cannot carry out is its owner's
          // bug, so the adapter fails and its supervisor restarts it, rather than ignoring it.
          throw new TypeError(`${config.name}: a ROUTER has no subscriptions (${command.type})`);
        case 'lifecycle.shutdown': {
          // What is queued leaves before the connections close, within the linger.
          for (const server of servers) server.close();
          const deadline = Date.now() + closeLingerMs;
          const wait = () => {
            let waiting = false;
            for (const peer of peers) if (!peer.socket.destroyed && peer.socket.writableLength > 0) waiting = true;
            if (!waiting || Date.now() >= deadline) done();
            else setTimeout(wait, 10);
          };
          wait();
          break;
        }
      }
    });

    void (async () => {
      try {
        const bound: string[] = [];
        for (const endpoint of config.bind) {
          const previous = resolved.get(endpoint);
          const at = parseBindEndpoint(previous ?? endpoint);
          if (at === undefined) {
            throw new EndpointError(config.name, 'bind', endpoint, 'EPROTONOSUPPORT', 'steward\'s ZMTP ROUTER binds tcp://HOST:PORT or ipc://PATH');
          }
          const server = net.createServer({ noDelay: true }, accept);
          servers.push(server);
          let concrete: string;
          try {
            // Only a port this adapter bound before (a restart) is waited for; anyone else's is an error now.
            concrete = await listenWithRetry(server, at, previous !== undefined, () => closed);
          } catch (error) {
            throw endpointError(config.name, 'bind', endpoint, error);
          }
          if (closed) return;
          // A listening server that fails (accept out of descriptors, say) fails the adapter, after its
          // start: its supervisor restarts it, where an unheard 'error' would have killed the process.
          server.on('error', (error) => {
            if (closed) return;
            log.error({ err: error, endpoint: concrete }, 'listening socket failed');
            fail(error);
          });
          resolved.set(endpoint, concrete);
          bound.push(concrete);
        }
        endpoints = bound;
        log.debug({ endpoints }, 'socket ready');
        started();
        deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
      } catch (error) {
        if (closed) return;
        log.error({ err: error, bind: config.bind }, 'socket failed');
        fail(error);
      }
    })();

    return () => {
      closed = true;
      sent?.close();
      received?.close();
      for (const server of servers) server.close();
      for (const peer of [...peers]) drop(peer);
    };
  });
  // Started once every endpoint is bound: a port that cannot be had fails the tree's start.
  return reportsStart(logic);
}

export type ZmtpRouterLogic<In extends EventObject, Out> = ReturnType<typeof zmtpRouter<In, Out>>;
