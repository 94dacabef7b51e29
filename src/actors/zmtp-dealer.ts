import type { EventObject } from 'xstate';
import { silentLogger, type Logger } from '../log.js';
import { DropCounter } from '../metrics/drops.js';
import type { Metrics } from '../metrics/metrics.js';
import { Tally } from '../metrics/tally.js';
import type { Codec } from '../protocol/codec.js';
import { reportsStart } from '../supervisor/start-report.js';
import { assertEndpoint, assertResolvable, EndpointError } from './endpoint-error.js';
import { fromResource } from './from-resource.js';
import { decodeInto, encodeEach, OwnerLink } from './socket-owner.js';
import { ZmtpDealerSocket, zmtpCanConnect } from './zmtp-dealer-socket.js';
import type { SocketOptions, ZmqCommand, ZmqOwnerEvent } from './zmq-socket.js';

export interface ZmtpDealerConfig<In extends EventObject, Out> {
  /** Socket name in logs and metrics, e.g. `worker.link.0.socket`. */
  readonly name: string;
  /** `tcp://HOST:PORT` or `ipc://PATH`. */
  readonly connect: string;
  /** systemId of the actor that receives `zmq.ready` and `zmq.batch`. */
  readonly owner: string;
  readonly codec: Codec<In, Out>;
  /**
   * What it shares with libzmq's options: `routingId`, `maxMessageSize`, `reconnectInterval`,
   * `reconnectMaxInterval`, `heartbeatInterval`, `heartbeatTimeout`; the rest (high-water marks, CURVE)
   * means nothing here.
   */
  readonly options?: SocketOptions;
  /** Frames of one message accepted; a longer message is dropped whole. */
  readonly maxFrames?: number;
  /** Bytes waiting for a connection or unsent on it beyond which messages are dropped (`send_queue_full`). */
  readonly maxQueuedBytes?: number;
  /** On a graceful shutdown, how long queued bytes may take to leave (ms). */
  readonly closeLingerMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/**
 * A DEALER adapter speaking ZMTP 3.1 itself (actors/zmtp-dealer-socket.ts)
 * with the same contract as `zmqSocket` and `zmtpRouter`: `zmq.ready` with
 * its port, one `zmq.batch` per read or the owner's inlet, `zmq.send`,
 * `zmq.pause`, the start phase (started once the connect is under way and its
 * host name was looked up), an `EndpointError` for an endpoint it cannot
 * use. For a worker's connection to its broker without CURVE: no libzmq
 * I/O thread between the worker and the wire, a read is a burst and a burst
 * is a write. The socket reconnects by itself; the owner's protocol
 * (heartbeats, registration) notices what a lost connection took with it.
 */
export function zmtpDealer<In extends EventObject, Out>(config: ZmtpDealerConfig<In, Out>) {
  const log = (config.logger ?? silentLogger).child({ socket: config.name });
  const closeLingerMs = config.closeLingerMs ?? 1_000;
  const options = config.options ?? {};
  let looked = false;

  const logic = fromResource<ZmqCommand<Out, In>, void>(({ system, self, receive, fail, done, started }) => {
    const drops = new DropCounter(config.name, config.metrics, config.logger ?? silentLogger);
    const sent = config.metrics ? new Tally(config.metrics, config.metrics.messagesSent, { socket: config.name }) : undefined;
    const received = config.metrics ? new Tally(config.metrics, config.metrics.messagesReceived, { socket: config.name }) : undefined;
    const link = new OwnerLink<In, Out>(system, self, config.owner, drops);
    const deliver = (event: ZmqOwnerEvent<In, Out>) => link.deliver(event);
    let closed = false;
    let paused = false;
    /** Decoded messages read before the owner asked to pause, handed over first on resume. */
    let held: In[] = [];
    let endpoints: string[] | undefined;

    const isPaused = () => paused;
    const handOver = (messages: In[]) => link.handOver(config.name, messages, isPaused, held);

    let dealer: ZmtpDealerSocket | undefined;
    let startError: unknown;
    try {
      assertEndpoint(config.name, 'connect', config.connect);
      if (!zmtpCanConnect(config.connect)) {
        throw new EndpointError(config.name, 'connect', config.connect, 'EPROTONOSUPPORT', "steward's ZMTP DEALER connects to tcp://HOST:PORT or ipc://PATH");
      }
      dealer = new ZmtpDealerSocket({
        endpoint: config.connect,
        ...(options.routingId !== undefined ? { routingId: Buffer.from(options.routingId) } : {}),
        ...(options.maxMessageSize !== undefined && options.maxMessageSize > 0 ? { maxMessageSize: options.maxMessageSize } : {}),
        ...(config.maxFrames !== undefined ? { maxFrames: config.maxFrames } : {}),
        ...(config.maxQueuedBytes !== undefined ? { maxQueuedBytes: config.maxQueuedBytes } : {}),
        ...(options.reconnectInterval !== undefined ? { reconnectIntervalMs: options.reconnectInterval } : {}),
        ...(options.reconnectMaxInterval !== undefined ? { reconnectMaxIntervalMs: options.reconnectMaxInterval } : {}),
        ...(options.heartbeatInterval !== undefined ? { heartbeatIntervalMs: options.heartbeatInterval } : {}),
        ...(options.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeout } : {}),
        logger: config.logger ?? silentLogger,
        onMessages: (messages) => {
          received?.add(messages.length);
          const batch: In[] = [];
          for (let i = 0; i < messages.length; i++) decodeInto(config.codec, messages[i] as Buffer[], batch, drops);
          if (batch.length > 0) handOver(batch);
        },
        onDrop: (reason, detail) => drops.drop(reason, detail),
        onUp: () => log.debug({ endpoint: config.connect }, 'connected'),
        onDown: (reason) => log.debug({ endpoint: config.connect, reason }, 'disconnected; reconnecting'),
      });
    } catch (error) {
      startError = error;
    }

    const sendBurst = (messages: readonly Out[]) => {
      if (closed || dealer === undefined) {
        for (let i = 0; i < messages.length; i++) drops.drop('closed');
        return;
      }
      const frames: Buffer[][] = [];
      encodeEach(config.codec, messages, drops, (m) => frames.push(m));
      const taken = dealer.send(frames);
      sent?.add(taken);
    };

    const port = link.port(config.name, sendBurst);

    receive((command) => {
      if (closed || link.take(command)) return;
      switch (command.type) {
        case 'zmq.send':
          sendBurst(command.messages);
          break;
        case 'zmq.pause':
          paused = true;
          dealer?.pause();
          break;
        case 'zmq.resume': {
          paused = false;
          const waiting = held;
          held = [];
          if (waiting.length > 0) handOver(waiting);
          // A hand-over above may have paused again.
          if (!paused) dealer?.resume();
          break;
        }
        case 'zmq.announce':
          if (endpoints !== undefined) deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
          break;
        case 'zmq.subscribe':
        case 'zmq.unsubscribe':
          break;
        case 'lifecycle.shutdown': {
          // Replies and goodbyes queued by the owner's drain leave before the connection closes, within the
          // linger; the owner's last replies of this turn are still on their way (it flushes on a microtask).
          const closing = dealer;
          if (closing === undefined) done();
          else setImmediate(() => void closing.close(closeLingerMs).then(done));
          break;
        }
      }
    });

    void (async () => {
      try {
        if (startError !== undefined) throw startError;
        // Once is enough: a restart knows the name. A name that does not exist fails the start.
        if (!looked) {
          looked = true;
          await assertResolvable(config.name, config.connect);
        }
        if (closed) return;
        endpoints = [config.connect];
        log.debug({ endpoints }, 'socket ready');
        started();
        deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
      } catch (error) {
        if (closed) return;
        log.error({ err: error, connect: config.connect }, 'socket failed');
        fail(error);
      }
    })();

    return () => {
      closed = true;
      sent?.close();
      received?.close();
      void dealer?.close();
    };
  });
  // Started once the connect is under way and its host looked up: a name that does not exist fails the tree's start.
  return reportsStart(logic);
}

export type ZmtpDealerLogic<In extends EventObject, Out> = ReturnType<typeof zmtpDealer<In, Out>>;
