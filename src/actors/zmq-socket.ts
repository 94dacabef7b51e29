import * as zmq from 'zeromq';
import type { AnyActorRef, EventObject } from 'xstate';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { Tally } from '../metrics/tally.js';
import { DropCounter } from '../metrics/drops.js';
import type { Metrics } from '../metrics/metrics.js';
import { SocketWriter } from '../util/socket-writer.js';
import { fromResource } from './from-resource.js';
import { decodeInto, encodeEach, OwnerLink } from './socket-owner.js';
import { assertEndpoint, assertResolvable, endpointError } from './endpoint-error.js';
import { reportsStart } from '../supervisor/start-report.js';
import type { Codec } from '../protocol/codec.js';

export type SocketKind = 'router' | 'dealer' | 'pull' | 'push' | 'pub' | 'sub' | 'rep' | 'req';

export { reject, rawCodec } from '../protocol/codec.js';
export type { Codec, Rejection } from '../protocol/codec.js';

/** Socket options passed to zeromq.js as data, plus what steward adds. */
export interface SocketOptions {
  routingId?: string;
  handover?: boolean;
  maxMessageSize?: number;
  linger?: number;
  sendHighWaterMark?: number;
  receiveHighWaterMark?: number;
  immediate?: boolean;
  reconnectInterval?: number;
  reconnectMaxInterval?: number;
  heartbeatInterval?: number;
  heartbeatTimeout?: number;
  subscribe?: readonly string[];
  curveServer?: boolean;
  curveSecretKey?: string;
  curvePublicKey?: string;
  curveServerKey?: string;
  zapDomain?: string;
}

export interface ZmqSocketConfig<In extends EventObject, Out> {
  /** Socket name in logs and metrics, e.g. `broker.frontend`. */
  readonly name: string;
  readonly kind: SocketKind;
  readonly bind?: readonly string[];
  readonly connect?: readonly string[];
  readonly options?: SocketOptions;
  /** systemId of the actor that receives `zmq.ready` and `zmq.batch`. */
  readonly owner: string;
  readonly codec: Codec<In, Out>;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Largest burst delivered as one event (zeromq.js reads up to 512 ready messages per poll). */
  readonly maxBatch?: number;
  /** On a graceful shutdown, how long queued messages may take to leave (ms). */
  readonly closeLingerMs?: number;
  /** Messages waiting for the writer beyond this are dropped as `send_queue_full`. */
  readonly maxSendQueue?: number;
  /**
   * Runs on the new socket before it binds or connects, and may wait (a CURVE
   * server waits for its ZAP handler); what it returns runs when the socket closes.
   */
  readonly setup?: SocketSetup;
}

export type SocketSetup = (socket: zmq.Socket) => Promise<(() => void) | void> | (() => void) | void;

/**
 * The adapter's writing side, handed to its owner with `zmq.ready`. Frames go
 * straight to the socket's writer: a burst of replies costs no actor event,
 * only the burst that caused it did (docs/architecture.md, "Hot path rules").
 * The port of an adapter that stopped drops what it is given (counted as
 * `closed`); a restarted adapter announces a new one.
 */
export interface SocketPort<Out> {
  /** The adapter's name (`broker.frontend` ...). */
  readonly socket: string;
  send(messages: readonly Out[]): void;
}

/** One received burst, decoded. */
export interface ZmqBatch<In> {
  readonly type: 'zmq.batch';
  readonly socket: string;
  readonly messages: In[];
}

/**
 * The owner's receiving side, which it may attach to the adapter
 * (`zmq.attach`): each burst is then handed to it by a function call, the same
 * typed `zmq.batch` event, instead of through the owner's mailbox and XState's
 * interpreter. Measured on the broker, the interpreter's step per burst cost
 * about as much CPU as everything else a request costs the process put
 * together (docs/architecture.md, "Hot path rules"). An inlet must not throw;
 * an owner whose inlet fails detaches it and fails through its own machine.
 */
export type SocketInlet<In> = (batch: ZmqBatch<In>) => void;

export type ZmqOwnerEvent<In, Out = unknown> =
  | { type: 'zmq.ready'; socket: string; endpoints: string[]; port: SocketPort<Out> }
  | ZmqBatch<In>;

export type ZmqCommand<Out, In = unknown> =
  | { type: 'zmq.send'; messages: readonly Out[] }
  /**
   * Hand bursts to `inlet` instead of sending them to the owner as events, for as long as `owner` is the
   * live actor under the owner's systemId (a restarted owner attaches again); `zmq.detach` undoes it.
   */
  | { type: 'zmq.attach'; inlet: SocketInlet<In>; owner: AnyActorRef }
  | { type: 'zmq.detach' }
  | { type: 'zmq.subscribe'; topic: string }
  | { type: 'zmq.unsubscribe'; topic: string }
  /** Asks the adapter to send `zmq.ready` again (an owner that restarted wants its endpoints). */
  | { type: 'zmq.announce' }
  /**
   * Stop reading until `zmq.resume`: messages wait in ZeroMQ's pipes, whose high-water marks then
   * push back on the senders (back-pressure instead of loss). Sending goes on.
   */
  | { type: 'zmq.pause' }
  | { type: 'zmq.resume' }
  /** Graceful close: hand what is queued to the socket, close with a bounded linger, end normally. */
  | { type: 'lifecycle.shutdown' };

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/** The part of every readable/writable zeromq.js socket the adapter uses. */
type AnySocket = zmq.Socket & {
  receive(): Promise<Buffer[]>;
  send(frames: Buffer[]): Promise<void>;
};

function createSocket(kind: SocketKind, options: SocketOptions): AnySocket {
  const { subscribe: _subscribe, ...rest } = options;
  const common = { linger: 0, ...rest } as Record<string, unknown>;
  return createRawSocket(kind, common) as AnySocket;
}

function createRawSocket(kind: SocketKind, common: Record<string, unknown>): zmq.Socket {
  switch (kind) {
    case 'router':
      // mandatory + sendTimeout 0: an unknown peer fails fast with EHOSTUNREACH and
      // a full one with EAGAIN, instead of blocking the writer forever.
      return new zmq.Router({ mandatory: true, sendTimeout: 0, ...common });
    case 'dealer':
      return new zmq.Dealer(common);
    case 'pull':
      return new zmq.Pull(common);
    case 'push':
      return new zmq.Push(common);
    case 'pub':
      return new zmq.Publisher({ sendTimeout: 0, ...common });
    case 'sub':
      return new zmq.Subscriber(common);
    case 'rep':
      return new zmq.Reply(common);
    case 'req':
      return new zmq.Request(common);
  }
}

/** How long after this process closed a bound socket its port may still be held by libzmq's I/O thread. */
const RELEASE_GRACE_MS = 2_000;
const BIND_RETRY_MS = 50;
// Retried for as long as the port may still be ours to wait for (on two loaded cores 1 s was seen to fall short).
const BIND_ATTEMPTS = RELEASE_GRACE_MS / BIND_RETRY_MS;
const MAX_RELEASED = 1_024;

/** Endpoints this process's sockets had bound, by when they closed: only these may be busy for a moment. */
const releasedAt = new Map<string, number>();

function released(endpoints: readonly string[]): void {
  const now = Date.now();
  for (const endpoint of endpoints) {
    releasedAt.delete(endpoint);
    releasedAt.set(endpoint, now);
  }
  // Oldest first (insertion order): forget those no bind can still be waiting for.
  for (const [endpoint, at] of releasedAt) {
    if (releasedAt.size <= MAX_RELEASED && now - at < RELEASE_GRACE_MS) break;
    releasedAt.delete(endpoint);
  }
}

function releasedLately(endpoint: string): boolean {
  const at = releasedAt.get(endpoint);
  return at !== undefined && Date.now() - at < RELEASE_GRACE_MS;
}

/**
 * Binds, retrying EADDRINUSE only where a socket of this process (a restart,
 * or one stopped a moment ago) may still hold the port. Anyone else's port
 * fails at once: that is a start failure, not something waiting fixes.
 */
async function bindWithRetry(socket: zmq.Socket, endpoint: string, ours: boolean, isClosed: () => boolean): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      await socket.bind(endpoint);
      return socket.lastEndpoint ?? endpoint;
    } catch (error) {
      const mayFree = ours || releasedLately(endpoint);
      if (errorCode(error) !== 'EADDRINUSE' || !mayFree || attempt >= BIND_ATTEMPTS || isClosed()) throw error;
      await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
    }
  }
}

/**
 * The thin adapter: one socket, frames to typed events through a codec (a
 * burst to one `zmq.batch` event), typed commands to frames through a single
 * writer loop (zeromq.js allows one pending send per socket). It knows no
 * routing. It closes its socket before it fails, so a restart can bind again.
 */
export function zmqSocket<In extends EventObject, Out>(config: ZmqSocketConfig<In, Out>) {
  const log = (config.logger ?? silentLogger).child({ socket: config.name });
  const maxBatch = config.maxBatch ?? 512;
  const maxSendQueue = config.maxSendQueue ?? 100_000;

  const closeLingerMs = config.closeLingerMs ?? 1_000;
  // What each bind endpoint resolved to the first time: a restarted adapter binds the
  // same port again, or a `tcp://host:*` socket would come back where no peer looks.
  const resolved = new Map<string, string>();

  let looked = false;

  const logic = fromResource<ZmqCommand<Out, In>, void>(({ system, self, receive, fail, done, started }) => {
    const boundHere: string[] = [];
    const drops = new DropCounter(config.name, config.metrics, config.logger ?? silentLogger);
    const socket = createSocket(config.kind, config.options ?? {});
    let closed = false;
    const sent = config.metrics ? new Tally(config.metrics, config.metrics.messagesSent, { socket: config.name }) : undefined;
    const received = config.metrics ? new Tally(config.metrics, config.metrics.messagesReceived, { socket: config.name }) : undefined;
    const writer = new SocketWriter(
      socket,
      (reason, detail) => drops.drop(reason, detail),
      () => sent?.inc(),
      maxSendQueue,
      // Their send timeout is 0 (createRawSocket): zeromq.js sends inside send(), never leaving one pending.
      config.kind === 'router' || config.kind === 'pub',
    );
    const write = (messages: readonly Out[]) => {
      if (closed) {
        for (let i = 0; i < messages.length; i++) drops.drop('closed');
        return;
      }
      encodeEach(config.codec, messages, drops, (frames) => writer.write(frames));
    };
    const link = new OwnerLink<In, Out>(system, self, config.owner, drops);
    const port = link.port(config.name, write);
    let endpoints: string[] | undefined;
    let teardown: (() => void) | undefined;
    // Set while paused: the read loop waits on it before its next receive.
    let paused: { promise: Promise<void>; resume: () => void } | undefined;
    const resume = () => {
      const p = paused;
      paused = undefined;
      p?.resume();
    };

    const deliver = (event: ZmqOwnerEvent<In, Out>) => link.deliver(event);
    const decode = (frames: Buffer[], batch: In[]) => decodeInto(config.codec, frames, batch, drops);

    const read = async () => {
      while (!closed) {
        if (paused) {
          await paused.promise;
          continue;
        }
        let frames: Buffer[];
        try {
          frames = await socket.receive();
        } catch (error) {
          if (closed || socket.closed || errorCode(error) === 'ENOTSOCK') return;
          if (errorCode(error) === 'EAGAIN') continue;
          log.error({ err: error }, 'receive failed');
          fail(error);
          return;
        }
        const batch: In[] = [];
        decode(frames, batch);
        let n = 1;
        while (n < maxBatch && !closed && paused === undefined && socket.readable) {
          try {
            decode(await socket.receive(), batch);
          } catch {
            break;
          }
          n += 1;
        }
        received?.add(n);
        if (batch.length > 0) deliver({ type: 'zmq.batch', socket: config.name, messages: batch });
      }
    };

    receive((command) => {
      if (closed || link.take(command)) return;
      switch (command.type) {
        case 'zmq.send':
          write(command.messages);
          break;
        case 'zmq.subscribe':
          (socket as unknown as zmq.Subscriber).subscribe(command.topic);
          break;
        case 'zmq.unsubscribe':
          (socket as unknown as zmq.Subscriber).unsubscribe(command.topic);
          break;
        case 'zmq.announce':
          if (endpoints !== undefined) deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
          break;
        case 'zmq.pause':
          if (paused === undefined) {
            let release: () => void = () => undefined;
            const promise = new Promise<void>((r) => (release = r));
            paused = { promise, resume: release };
            log.debug('reading paused');
          }
          break;
        case 'zmq.resume':
          if (paused !== undefined) log.debug('reading resumed');
          resume();
          break;
        case 'lifecycle.shutdown':
          // Replies and goodbyes queued by the owner's drain must leave before the socket closes.
          socket.linger = closeLingerMs;
          void writer.whenDrained(closeLingerMs).then(done);
          break;
      }
    });

    void (async () => {
      try {
        if (config.setup) {
          // A setup that does not wait must not delay a connect either: an owner may send at
          // once, and a DEALER send issued before its connect can stall behind a CURVE handshake.
          const prepared = config.setup(socket);
          teardown = (prepared instanceof Promise ? await prepared : prepared) ?? undefined;
          if (closed) {
            teardown?.();
            return;
          }
        }
        if (config.kind === 'sub') {
          const topics = config.options?.subscribe;
          if (topics) for (const t of topics) (socket as unknown as zmq.Subscriber).subscribe(t);
        }
        const bound: string[] = [];
        for (const endpoint of config.bind ?? []) {
          const previous = resolved.get(endpoint);
          assertEndpoint(config.name, 'bind', endpoint);
          let concrete: string;
          try {
            concrete = await bindWithRetry(socket, previous ?? endpoint, previous !== undefined, () => closed);
          } catch (error) {
            throw endpointError(config.name, 'bind', endpoint, error);
          }
          resolved.set(endpoint, concrete);
          bound.push(concrete);
          boundHere.push(concrete);
        }
        for (const endpoint of config.connect ?? []) {
          assertEndpoint(config.name, 'connect', endpoint);
          try {
            socket.connect(endpoint);
          } catch (error) {
            throw endpointError(config.name, 'connect', endpoint, error);
          }
          bound.push(endpoint);
        }
        // After the connects, so nothing sent meanwhile waits on a lookup; before the start is reported,
        // so a name that does not exist fails the start. Once is enough: a restart knows the name.
        if (!looked) {
          looked = true;
          for (const endpoint of config.connect ?? []) await assertResolvable(config.name, endpoint);
        }
        if (closed) return;
        endpoints = bound;
        log.debug({ endpoints }, 'socket ready');
        started();
        deliver({ type: 'zmq.ready', socket: config.name, endpoints, port });
        if (config.kind !== 'push' && config.kind !== 'pub') await read();
      } catch (error) {
        if (closed) return;
        log.error({ err: error, bind: config.bind, connect: config.connect }, 'socket failed');
        fail(error);
      }
    })();

    return () => {
      sent?.close();
      received?.close();
      closed = true;
      resume();
      writer.stop();
      socket.close();
      released(boundHere);
      teardown?.();
    };
  });
  // A socket has started once it bound and connected: a failure before that fails its tree's start.
  return reportsStart(logic);
}

export type ZmqSocketLogic<In extends EventObject, Out> = ReturnType<typeof zmqSocket<In, Out>>;
