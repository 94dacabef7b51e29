/**
 * Every ZeroMQ endpoint a steward process binds for peers it does not
 * control, as one table for the live fuzzer: how to start the role in this
 * process, which socket the fuzzer talks to, the decoder that socket uses
 * (to predict what must be refused), what well-formed traffic looks like,
 * and a good client's round trip that must still work afterwards.
 *
 * Some roles refuse more after their decoder: the routing machine drops
 * messages that decode but make no sense (the gateway's, from a node it does
 * not know). A target that has such a machine says which of its drops each
 * accepted fuzzed message must cause (`afterDecode`), so both counters are
 * predicted exactly.
 */
import fc from 'fast-check';
import { Balancer, BalancerClient } from '../../src/api/balancer.js';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { Dispatcher } from '../../src/api/dispatcher.js';
import { Gateway } from '../../src/api/gateway.js';
import { GatewayBackend } from '../../src/api/gateway-backend.js';
import { KeywordClient } from '../../src/api/keywords/index.js';
import { Registry } from '../../src/api/registry.js';
import { Sink } from '../../src/api/sink.js';
import { Worker } from '../../src/api/worker.js';
import { DEFAULT_ROUTER, DEFAULT_ZMQ, type KeywordsConfig } from '../../src/config/keywords-config.js';
import { parseKeywordsFile } from '../../src/config/keywords-file.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { decodeBackendFrames, type BackendMessage } from '../../src/protocol/blastbeat/message.js';
import type { Rejection } from '../../src/protocol/codec.js';
import { DEFAULT_BROKER_WIRE_LIMITS, brokerMessageDecoder } from '../../src/protocol/broker-wire.js';
import { decodeUnits, isStewardHeader, Kind } from '../../src/protocol/steward-wire.js';
import { Status } from '../../src/protocol/status.js';
import { isStewardTag, parseTagHeader } from '../../src/protocol/tagged.js';
import { decodeDispatcherRequest, decodeRegistryRequest } from '../../src/protocol/keywords.js';
import { decodeSinkFrames } from '../../src/protocol/sink.js';
import { decodeStirrFrames } from '../../src/protocol/stirr.js';
import { ConfigDir } from '../helpers/balancer.js';
import { rawExchange } from '../helpers/gateway.js';
import { freePorts } from '../helpers/ports.js';
import { ANY, eventually, withTimeout } from '../helpers/zmq.js';
import { blastbeatNodeMessages, brokerMessages, dispatcherMessages, one, registryMessages, sinkMessages, stirrMessages, type DecodeResult } from './codecs.js';

export interface LiveTarget {
  /** The socket's name in `steward_dropped_total{socket}` and `steward_messages_received_total{socket}`. */
  readonly socket: string;
  readonly endpoint: string;
  /** ROUTER targets get a DEALER fuzzer (the ROUTER adds a routing id); PULL targets a PUSH. */
  readonly kind: 'router' | 'pull';
  readonly metrics: Metrics;
  /** The target's own decoder, on frames as its socket delivers them. */
  readonly decode: (frames: Buffer[]) => DecodeResult;
  /** ZMQ_MAXMSGSIZE: libzmq cuts off a peer that sends a frame above it, before steward sees anything. */
  readonly maxMessageSize: number;
  /** Well-formed messages as a peer sends them, which the fuzzer mutates. */
  readonly valid: fc.Arbitrary<Buffer[]>;
  /**
   * The machine behind the socket, when it counts drops of its own on its own
   * `socket` label: the reasons it must drop what the decoder accepted with.
   */
  readonly afterDecode?: {
    readonly socket: string;
    /**
     * The machine's drop reasons for a message as the socket delivers it (one per unit of a batch; none when
     * the decoder refuses it); `routingId` is the sending fuzzer's (see `fuzzerIds`), undefined for one with
     * libzmq's own id.
     */
    readonly predict: (frames: Buffer[], routingId: string | undefined) => readonly string[];
  };
  /** Routing ids for the first fuzzer sockets (a peer the target knows by name); the others get libzmq's own. */
  readonly fuzzerIds?: readonly string[];
  /** Every message the decoder does not refuse gets exactly one answer (request/reply protocols). */
  readonly answersEveryAccepted: boolean;
  /**
   * Refusals the target answers instead of dropping (the broker's 400 to a
   * malformed request whose sender and attempt it can still name): how many
   * a message, as the socket delivers it, must get, and how many a reply the
   * fuzzer reads carries. The fuzzer expects exactly the predicted number.
   */
  readonly answeredRefusals?: {
    predict(frames: Buffer[]): number;
    count(reply: Buffer[]): number;
  };
  /** A good client's round trip: resolves when the answer is right, throws otherwise. */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export interface TargetSpec {
  readonly name: string;
  start(): Promise<LiveTarget>;
}

/**
 * Names the fuzzer's valid messages can never produce: they start upper-case,
 * the arbitraries' names lower-case, so fuzzed traffic cannot register for,
 * read or write what the good client uses.
 */
const GOOD_SERVICE = 'Good-Echo';
const GOOD_KEYWORDS = 'Good';

const BAD_REQUEST = Buffer.from(String(Status.BadRequest));
const BAD_REQUEST_PREFIX = Buffer.from(`${Status.BadRequest}:`);

/**
 * 400s for malformed requests in what a broker client DEALER reads: compact
 * CLIENT_REPLY units with status 400, a STW1 answer whose status frame is
 * 400, or a butler/ebwrkapi answer whose body starts "400:" (butler's own mmi
 * "400", without a colon, is a discovery answer, not a refusal); in each the
 * message says "malformed request". Other 400s are routing decisions the
 * decoder cannot predict (a multi-frame request that reached a butler worker
 * the fuzzer registered), so they are not counted.
 */
export function brokerBadRequestAnswers(reply: Buffer[]): number {
  const first = reply[0];
  if (first === undefined) return 0;
  if (isStewardHeader(first)) {
    let n = 0;
    decodeUnits(reply, 0, (m) => {
      if (!('type' in m) && m.kind === Kind.ClientReply && m.status === Status.BadRequest && startsWith(m.body[0], MALFORMED)) n += 1;
    });
    return n;
  }
  if (first.length !== 0 || reply.length < 3) return 0;
  const tagged = parseTagHeader(reply[1] as Buffer);
  if (tagged === undefined) return 0;
  const body = reply[2] as Buffer;
  if (isStewardTag(tagged.tag)) return body.equals(BAD_REQUEST) && startsWith(reply[3], MALFORMED) ? 1 : 0;
  return startsWith(body, BAD_REQUEST_PREFIX) && startsWith(body.subarray(BAD_REQUEST_PREFIX.length), MALFORMED) ? 1 : 0;
}

const MALFORMED = Buffer.from('malformed request');

function startsWith(frame: Buffer | undefined, prefix: Buffer): boolean {
  return frame !== undefined && frame.length >= prefix.length && frame.subarray(0, prefix.length).equals(prefix);
}

const KEYWORDS = parseKeywordsFile(
  { keywords: [{ name: 'TEMP', type: 'double', initial: 20.5 }, { name: 'NOTE', type: 'string', initial: 'a:b' }] },
  'fuzz',
);

async function brokerTarget(which: 'frontend' | 'backend'): Promise<LiveTarget> {
  const metrics = new Metrics('broker');
  const maxMessageSize = 256 * 1024;
  const brokerDecoder = brokerMessageDecoder(DEFAULT_BROKER_WIRE_LIMITS, maxMessageSize);
  const broker = await Broker.start({ frontend: ANY, backend: ANY, metrics, maxMessageSize, heartbeatIntervalMs: 500, drainTimeoutMs: 200 });
  const { frontend, backend } = await broker.endpoints();
  const worker = Worker.start({ broker: backend, service: GOOD_SERVICE, handler: (req) => [Buffer.from('echo:'), ...req.body], heartbeatIntervalMs: 500 });
  const client = new Client({ broker: frontend, timeout: 1000, retries: 4, waitForWorker: true });
  return {
    socket: which === 'frontend' ? broker.ids.frontend : broker.ids.backend,
    endpoint: which === 'frontend' ? frontend : backend,
    kind: 'router',
    metrics,
    // The broker's own decoder: over-limit messages are limit refusals (answered 413, counted as limit
    // hits), and malformed requests it can address are answered 400; neither is a drop on the socket.
    decode: (frames) => one(brokerDecoder(frames)),
    maxMessageSize,
    valid: brokerMessages,
    // Accepted requests may wait in a queue past the test, worker messages get no answer: only the 400s are predictable.
    answersEveryAccepted: false,
    answeredRefusals: {
      predict(frames) {
        const decoded = brokerDecoder(frames);
        const list = Array.isArray(decoded) ? (decoded as readonly { type: string }[]) : [decoded as { type: string }];
        return list.filter((m) => m.type === 'client.malformed').length;
      },
      count: brokerBadRequestAnswers,
    },
    async check() {
      const marker = `good-${Math.random()}`;
      const reply = await client.call(GOOD_SERVICE, marker);
      if (reply.map(String).join('|') !== `echo:|${marker}`) throw new Error(`broker answered ${reply.map(String).join('|')}`);
    },
    async stop() {
      client.close();
      await worker.stop();
      await broker.stop();
    },
  };
}

async function balancerTarget(): Promise<LiveTarget> {
  const metrics = new Metrics('balancer');
  const dir = await ConfigDir.create([{ type: 'Base', configuration: { dsn: 'good://backend' } }]);
  const maxMessageSize = 1024 * 1024;
  const balancer = await Balancer.start({ configFile: dir.file, bind: ANY, watch: false, metrics, maxMessageSize });
  const endpoint = await balancer.endpoint();
  const client = new BalancerClient({ endpoint, timeoutMs: 5_000 });
  return {
    socket: balancer.ids.socket,
    endpoint,
    kind: 'router',
    metrics,
    decode: (frames) => decodeStirrFrames(frames),
    maxMessageSize,
    valid: stirrMessages,
    answersEveryAccepted: true,
    async check() {
      const config = await client.get({ group: 'default', type: 'Base' });
      if (JSON.stringify(config) !== '{"dsn":"good://backend"}') throw new Error(`balancer answered ${JSON.stringify(config)}`);
    },
    async stop() {
      client.close();
      await balancer.stop();
      await dir.remove();
    },
  };
}

async function keywordsConfig(pairs: number): Promise<KeywordsConfig> {
  const ports = await freePorts(1 + pairs * 2);
  return {
    file: undefined,
    zmq: DEFAULT_ZMQ,
    router: {
      ...DEFAULT_ROUTER,
      port: ports[0] as number,
      firstPort: ports[1] as number,
      lastPort: (ports[1] as number) + pairs * 2 - 1,
      // Lenient: the fuzzer floods this very process, and a dispatcher's heartbeat must not look lost meanwhile.
      heartbeatMs: 500,
      liveness: 6,
      timeoutMs: 1_000,
      allowSpawn: false,
    },
  };
}

async function registryTarget(): Promise<LiveTarget> {
  const metrics = new Metrics('registry');
  // Two pairs: one for the good dispatcher; fuzzed registrations fight over the other and are refused when it is taken.
  const config = await keywordsConfig(2);
  const registry = await Registry.start({ config, metrics });
  const dispatcher = await Dispatcher.start({ service: GOOD_KEYWORDS, keywords: KEYWORDS, config });
  const client = new KeywordClient({ config, timeoutMs: 1_000 });
  return {
    socket: registry.ids.socket,
    endpoint: await registry.endpoint(),
    kind: 'router',
    metrics,
    decode: (frames) => decodeRegistryRequest(frames),
    maxMessageSize: 64 * 1024,
    valid: registryMessages,
    answersEveryAccepted: true,
    async check() {
      const location = await client.lookup(GOOD_KEYWORDS);
      if (location.dispatch !== dispatcher.endpoints()?.dispatch) throw new Error(`registry located ${GOOD_KEYWORDS} at ${location.dispatch}`);
      const value = await client.service(GOOD_KEYWORDS).keyword('TEMP').read();
      if (value !== '20.5') throw new Error(`read TEMP = ${String(value)}`);
    },
    async stop() {
      client.close();
      await dispatcher.stop();
      await registry.stop();
    },
  };
}

async function dispatcherTarget(): Promise<LiveTarget> {
  const metrics = new Metrics('dispatcher');
  const dispatcher = await Dispatcher.start({ service: GOOD_KEYWORDS, keywords: KEYWORDS, direct: { dispatch: ANY, broadcast: ANY }, metrics });
  const direct = dispatcher.endpoints();
  if (!direct) throw new Error('dispatcher does not listen');
  const client = new KeywordClient({ direct, timeoutMs: 1_000 });
  return {
    socket: `${dispatcher.ids.root}.dispatch.0`,
    endpoint: direct.dispatch,
    kind: 'router',
    metrics,
    decode: (frames) => decodeDispatcherRequest(frames),
    maxMessageSize: 1024 * 1024 + 64 * 1024,
    valid: dispatcherMessages,
    answersEveryAccepted: true,
    async check() {
      const note = client.service(GOOD_KEYWORDS).keyword('NOTE');
      const marker = `good:${Math.random()}`;
      const written = await note.write(marker);
      const read = await note.read();
      if (written !== marker || read !== marker) throw new Error(`wrote ${marker}, got ${String(written)} then ${String(read)}`);
    },
    async stop() {
      client.close();
      await dispatcher.stop();
    },
  };
}

async function sinkTarget(): Promise<LiveTarget> {
  const metrics = new Metrics('sink');
  const sink = await Sink.start({ bind: ANY, metrics });
  const endpoint = await sink.endpoint();
  const worker = Worker.start({ broker: 'tcp://127.0.0.1:1', service: GOOD_SERVICE, sink: endpoint, handler: () => '' });
  return {
    socket: 'sink.socket',
    endpoint,
    kind: 'pull',
    metrics,
    decode: (frames) => decodeSinkFrames(frames),
    maxMessageSize: 16 * 1024 * 1024,
    valid: sinkMessages,
    answersEveryAccepted: false,
    async check() {
      const marker = `good-${Math.random()}`;
      const events = sink.events();
      try {
        worker.emit({ marker });
        // The fuzzer's events may still be in the way: read until ours arrives.
        await withTimeout(
          (async () => {
            for (;;) {
              const next = await events.next();
              if (next.done) throw new Error('sink stopped');
              const data = next.value.data as { marker?: unknown } | null;
              if (next.value.source === GOOD_SERVICE && typeof data === 'object' && data !== null && data.marker === marker) return;
            }
          })(),
          5_000,
          'the good event at the sink',
        );
      } finally {
        await events.return?.();
      }
    },
    async stop() {
      await worker.stop();
      await sink.stop();
    },
  };
}

/** The gateway's good node: its name is upper-case, and the fuzzer's DEALERs have libzmq's own ids (a zero byte first). */
const GOOD_NODE = 'Good-Node';
/** A node the gateway knows, played by one fuzzer socket, on a virtual host the good client never asks for. */
const FUZZ_NODE = 'Fuzz-Node';

/** The messages the gateway's decoder hands its router for these frames: none, one, or a batch's units. */
function accepted(frames: Buffer[]): readonly BackendMessage[] {
  const decoded = decodeBackendFrames(frames);
  if (Array.isArray(decoded)) return decoded as readonly BackendMessage[];
  return (decoded as BackendMessage | Rejection).type === 'rejected' ? [] : [decoded as BackendMessage];
}

async function gatewayTarget(): Promise<LiveTarget> {
  const metrics = new Metrics('gateway');
  const maxMessageSize = 256 * 1024;
  const gateway = await Gateway.start({
    bind: ['127.0.0.1:0'],
    zmq: ANY,
    vhosts: [
      { name: '127.0.0.1', nodes: [GOOD_NODE] },
      { name: 'fuzz.invalid', nodes: [FUZZ_NODE] },
    ],
    metrics,
    maxMessageSize,
    // Lenient: the fuzzer floods this very process, and the good node must not look lost meanwhile.
    pingFreqMs: 500,
    timeoutMs: 5_000,
    drainTimeoutMs: 200,
  });
  const { http, zmq } = await gateway.endpoints();
  const port = Number(new URL(http[0] ?? 'http://x:0').port);
  const node = GatewayBackend.start({ endpoint: zmq, node: GOOD_NODE, onRequest: (req) => ({ status: 200, body: `echo:${req.query}` }) });
  await eventually(() => gateway.availableNodes().includes(GOOD_NODE), 5_000);
  return {
    socket: gateway.ids.zmq,
    endpoint: zmq,
    kind: 'router',
    metrics,
    decode: (frames) => one(decodeBackendFrames(frames)),
    maxMessageSize,
    valid: blastbeatNodeMessages,
    afterDecode: {
      socket: 'gateway',
      predict: (frames, routingId) =>
        accepted(frames).flatMap((m) => {
          // A node no virtual host lists: whatever decodes, whatever its type or sid, is dropped before the
          // gateway looks further (a stranger is answered nothing, not even a ping's pong).
          if (routingId !== FUZZ_NODE) return ['unknown_node'];
          // The known node: presence is taken (a ping answered), and no fuzzed sid is a live session (sids are
          // the gateway's 16 random bytes, and no client is connected meanwhile); a late `end` is not counted.
          if (m.kind === 'pong' || m.kind === 'ping') return [];
          if (m.sid.length === 0) return ['no_sid'];
          return m.kind === 'end' ? [] : ['unknown_session'];
        }),
    },
    fuzzerIds: [FUZZ_NODE],
    answersEveryAccepted: false,
    async check() {
      const marker = `good-${Math.random()}`;
      const { text } = await rawExchange(port, [`GET /?${marker} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], { timeoutMs: 5_000 });
      if (!text.startsWith('HTTP/1.1 200 ') || !text.endsWith(`\r\n\r\necho:${marker}`)) throw new Error(`gateway answered ${JSON.stringify(text)}`);
    },
    async stop() {
      node.close();
      await gateway.stop();
    },
  };
}

export const TARGETS: readonly TargetSpec[] = [
  { name: 'broker frontend (clients)', start: () => brokerTarget('frontend') },
  { name: 'broker backend (workers)', start: () => brokerTarget('backend') },
  { name: 'balancer', start: balancerTarget },
  { name: 'registry', start: registryTarget },
  { name: 'dispatcher command socket', start: dispatcherTarget },
  { name: 'sink', start: sinkTarget },
  { name: 'gateway backend (nodes)', start: gatewayTarget },
];
