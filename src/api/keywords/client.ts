import { randomBytes } from 'node:crypto';
import { Observable } from 'rxjs';
import { DEFAULT_KEYWORDS_CONFIG, directEndpoints, registryConnectEndpoint, type KeywordsConfig } from '../../config/keywords-config.js';
import {
  DEFAULT_KEYWORDS_LIMITS,
  isErrorCode,
  isRejected,
  parseIdentify,
  parseLocation,
  parseNames,
  parseValue,
  type KeywordsCommand,
  type KeywordsLimits,
  type Location,
  type Reply,
} from '../../protocol/keywords.js';
import { fromAscii, inputToAscii, isValidName, type BinaryValue, type KeywordDescriptor, type KeywordInput } from '../../protocol/ktl-types.js';
import { silentLogger, type Logger } from '../../log.js';
import { resolveCurveClient, type CurveClientOptions, type ResolvedCurveClient } from '../../security/curve.js';
import { BroadcastSubscriber, type LinkState, type RawBroadcast } from './broadcasts.js';
import { ChannelFailure, RequestChannel } from './channel.js';
import {
  DispatcherUnavailableError,
  KeywordClosedError,
  KeywordError,
  KeywordRejectedError,
  KeywordTimeoutError,
  RegistryUnavailableError,
  ServiceNotFoundError,
} from './errors.js';

export interface KeywordClientOptions {
  /** `[zmq-router]` gives the registry endpoint and timeout; with `enable = no`, `[zmq]` gives the dispatcher. */
  readonly config?: KeywordsConfig;
  /** The registry to look services up in (overrides the config). */
  readonly registry?: string;
  /** Talk to this dispatcher without a registry (overrides the config). */
  readonly direct?: { readonly dispatch: string; readonly broadcast: string };
  /** Every request's timeout, in ms (default: `timeout` of `[zmq-router]`, 1000). */
  readonly timeoutMs?: number;
  readonly limits?: Partial<KeywordsLimits>;
  /**
   * CURVE: `serverKey` is the registry's public key (without a registry, the
   * dispatcher's), `dispatcherKey` the dispatchers' when it differs; this
   * client's pair is fresh when left out. A refused key gets no answer: requests
   * time out and the logger says why.
   */
  readonly curve?: KeywordClientCurve;
  /** Hears CURVE handshake refusals (default: silent). */
  readonly logger?: Logger;
}

export interface KeywordClientCurve extends CurveClientOptions {
  /** The dispatchers' public key, when they do not share the registry's pair. */
  readonly dispatcherKey?: string;
}

/** One broadcast, in both forms. */
export interface KeywordUpdate {
  readonly service: string;
  readonly keyword: string;
  /** The dispatcher's broadcast counter: increases by one per change across the service. */
  readonly seq: number;
  readonly ascii: string;
  readonly bytes: Buffer;
  readonly binary: BinaryValue;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface ConnectionEvent {
  readonly service: string;
  /** lost: the dispatcher's broadcast socket went away (stopped, killed); restored: connected again, perhaps elsewhere. */
  readonly state: LinkState;
  readonly endpoint: string;
}

export interface MonitorOptions {
  /** Call the callback once with the current value before any change. */
  readonly prime?: boolean;
  /**
   * Told when the broadcasts stop (the dispatcher went away) and when they
   * flow again. Changes in between are not replayed: read to catch up.
   */
  readonly onConnection?: (event: ConnectionEvent) => void;
}

export interface WaitOptions {
  /** ms to wait for the change; a KeywordTimeoutError after it. */
  readonly timeout: number;
  /** Wait for a change that satisfies this (KTL's `wait` with an expression). */
  readonly until?: (update: KeywordUpdate) => boolean;
}

/**
 * The keyword library's entry point: looks services up in the registry,
 * caches where they live, and hands out `KeywordService`s. Every request has
 * a timeout; a dispatcher that does not answer gives a
 * DispatcherUnavailableError, a registry that does not a
 * RegistryUnavailableError, never a hang.
 */
export class KeywordClient {
  readonly timeoutMs: number;
  readonly limits: KeywordsLimits;
  readonly registryEndpoint: string | undefined;
  readonly direct: { readonly dispatch: string; readonly broadcast: string } | undefined;
  private registryChannel: RequestChannel | undefined;
  private readonly services = new Map<string, KeywordService>();
  private closed = false;
  /** @internal CURVE keys towards the registry and the dispatchers, resolved once. */
  readonly security: { readonly registry: CurveLink; readonly dispatcher: CurveLink } | undefined;

  constructor(options: KeywordClientOptions = {}) {
    const config = options.config ?? DEFAULT_KEYWORDS_CONFIG;
    this.timeoutMs = options.timeoutMs ?? config.router.timeoutMs;
    this.limits = { ...DEFAULT_KEYWORDS_LIMITS, ...options.limits };
    if (options.direct) this.direct = options.direct;
    else if (options.registry === undefined && !config.router.enable) this.direct = directEndpoints(config, 'connect');
    this.registryEndpoint = this.direct ? undefined : (options.registry ?? registryConnectEndpoint(config));
    if (options.curve) {
      const log = (options.logger ?? silentLogger).child({ actor: 'keyword-client' });
      const keys = resolveCurveClient(options.curve);
      const dispatcher = options.curve.dispatcherKey === undefined ? keys : resolveCurveClient({ ...keys, serverKey: options.curve.dispatcherKey }, 'curve.dispatcherKey');
      this.security = { registry: { keys, log }, dispatcher: { keys: dispatcher, log } };
    }
  }

  service(name: string): KeywordService {
    if (this.closed) throw new KeywordClosedError(`service ${name}`);
    if (!isValidName(name)) throw new KeywordError('bad-request', `"${name}" is not a service name (1-64 of A-Z a-z 0-9 _ . -)`, { service: name });
    let svc = this.services.get(name);
    if (!svc) {
      svc = new KeywordService(this, name);
      this.services.set(name, svc);
    }
    return svc;
  }

  /** Where a service's dispatcher listens, asked of the registry (or the configured ports without one). */
  async lookup(service: string): Promise<Location> {
    if (this.direct) return { ...this.direct, state: 'registered' };
    const reply = await this.askRegistry('lookup', [Buffer.from(service)], service);
    if (!reply.ok) {
      if (reply.code === 'no-such-service') throw new ServiceNotFoundError(service, reply.message, this.registryEndpoint);
      throw rejected(reply, { service });
    }
    const location = parseLocation(reply.payload);
    if (isRejected(location)) throw new KeywordError('protocol', `malformed lookup reply from ${this.registryEndpoint}: ${location.reason}`, { service });
    return location;
  }

  /** Services the registry knows. */
  async list(): Promise<string[]> {
    if (this.direct) throw new KeywordError('bad-request', 'no registry is configured; list needs one');
    const reply = await this.askRegistry('list', []);
    if (!reply.ok) throw rejected(reply, {});
    const names = parseNames(reply.payload);
    if (isRejected(names)) throw new KeywordError('protocol', `malformed list reply: ${names.reason}`);
    return names;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const svc of this.services.values()) svc.shutdown();
    this.services.clear();
    this.registryChannel?.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async askRegistry(command: KeywordsCommand, args: Buffer[], service?: string): Promise<Reply> {
    if (this.closed) throw new KeywordClosedError(command);
    const endpoint = this.registryEndpoint as string;
    this.registryChannel ??= new RequestChannel(endpoint, { timeoutMs: this.timeoutMs, limits: this.limits, ...(this.security ? { curve: this.security.registry } : {}) });
    try {
      return await this.registryChannel.request(command, args);
    } catch (error) {
      if (error instanceof ChannelFailure && error.kind === 'timeout') throw new RegistryUnavailableError(endpoint, this.timeoutMs, service);
      throw new KeywordClosedError(command);
    }
  }
}

interface CurveLink {
  readonly keys: ResolvedCurveClient;
  readonly log: Logger;
}

function rejected(reply: Extract<Reply, { ok: false }>, details: { service?: string; keyword?: string }): KeywordRejectedError {
  return new KeywordRejectedError(isErrorCode(reply.code) ? reply.code : 'protocol', reply.message || reply.code, details);
}

/**
 * One service: its dispatcher's address (looked up once, again after a
 * timeout or a `wrong-service` answer), a request channel to it, and one
 * broadcast subscriber for all its monitored keywords.
 */
export class KeywordService {
  private location: Promise<Location> | undefined;
  private channel: RequestChannel | undefined;
  private broadcasts: BroadcastSubscriber | undefined;
  private readonly keywords = new Map<string, Keyword>();
  private readonly descriptors = new Map<string, Promise<KeywordDescriptor>>();
  private readonly linkListeners = new Set<(event: ConnectionEvent) => void>();
  private relocating: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly client: KeywordClient,
    readonly name: string,
  ) {}

  keyword(name: string): Keyword {
    if (!isValidName(name)) throw new KeywordError('bad-request', `"${name}" is not a keyword name (1-64 of A-Z a-z 0-9 _ . -)`, { service: this.name, keyword: name });
    let kw = this.keywords.get(name);
    if (!kw) {
      kw = new Keyword(this, name);
      this.keywords.set(name, kw);
    }
    return kw;
  }

  /** The service's keyword names. */
  async enumerate(): Promise<string[]> {
    const payload = await this.call('enumerate', []);
    const names = parseNames(payload);
    if (isRejected(names)) throw new KeywordError('protocol', `malformed enumerate reply: ${names.reason}`, { service: this.name });
    return names;
  }

  /** A keyword's type, units, enumerators and access, cached. */
  identify(keyword: string): Promise<KeywordDescriptor> {
    let d = this.descriptors.get(keyword);
    if (!d) {
      d = this.call('identify', [Buffer.from(keyword)], keyword).then((payload) => {
        const desc = parseIdentify(payload);
        if (isRejected(desc)) throw new KeywordError('protocol', `malformed identify reply: ${desc.reason}`, { service: this.name, keyword });
        return desc;
      });
      d.catch(() => this.descriptors.delete(keyword));
      this.descriptors.set(keyword, d);
    }
    return d;
  }

  /** Calls back for every change of every keyword of the service. */
  monitorAll(callback: (update: KeywordUpdate) => void, options: Pick<MonitorOptions, 'onConnection'> = {}): Promise<Subscription> {
    return this.subscribe('', callback, this.client.timeoutMs, options.onConnection);
  }

  /** Closes this service's sockets; the client can hand out a new one. */
  close(): void {
    this.shutdown();
  }

  /** @internal */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.relocating);
    this.channel?.close();
    this.broadcasts?.close();
  }

  /** @internal A request to the dispatcher; resolves with the ok payload, throws a typed KeywordError. */
  async call(command: KeywordsCommand, args: readonly Buffer[], keyword?: string, onSent?: () => void): Promise<Buffer[]> {
    let location = await this.locate();
    for (let attempt = 0; ; attempt++) {
      const channel = this.channelTo(location.dispatch);
      let reply: Reply;
      try {
        reply = await channel.request(command, [Buffer.from(this.name), ...args], onSent);
      } catch (error) {
        if (!(error instanceof ChannelFailure) || error.kind === 'closed' || this.closed) throw new KeywordClosedError(`${this.name} ${command}`);
        // Silent: the dispatcher may have moved (restarted on other ports) or died; ask where it is now.
        this.location = undefined;
        const moved = attempt === 0 && !this.client.direct ? await this.locate() : undefined;
        if (moved && moved.dispatch !== location.dispatch) {
          location = moved;
          continue;
        }
        throw new DispatcherUnavailableError(this.name, location.dispatch, this.client.timeoutMs, keyword, moved?.state);
      }
      if (reply.ok) return reply.payload;
      if (reply.code === 'wrong-service' && attempt === 0 && !this.client.direct) {
        this.location = undefined;
        location = await this.locate();
        continue;
      }
      throw rejected(reply, { service: this.name, ...(keyword ? { keyword } : {}) });
    }
  }

  /** @internal Subscribes to a keyword's broadcasts ('' for all) and resolves once the subscription is live. */
  async subscribe(
    keyword: string,
    callback: (update: KeywordUpdate) => void,
    timeoutMs: number,
    onConnection?: (event: ConnectionEvent) => void,
  ): Promise<Subscription> {
    if (this.closed) throw new KeywordClosedError(`${this.name} monitor`);
    const deadline = Date.now() + timeoutMs;
    const location = await this.locate();
    const descriptors = new Map<string, KeywordDescriptor>();
    if (keyword !== '') descriptors.set(keyword, await this.identify(keyword));
    else for (const name of await this.enumerate()) descriptors.set(name, await this.identify(name));
    this.broadcasts ??= new BroadcastSubscriber(this.name, this.client.limits, (state, endpoint) => this.onLink(state, endpoint), this.client.security?.dispatcher);
    const broadcasts = this.broadcasts;
    broadcasts.connect(location.broadcast);
    const listener = (b: RawBroadcast) => {
      const desc = descriptors.get(b.keyword);
      if (!desc) return;
      const cast = fromAscii(desc, b.value);
      if (!cast.ok) return;
      callback({ service: this.name, keyword: b.keyword, seq: b.seq, ascii: b.value.toString('utf8'), bytes: b.value, binary: cast.value.binary });
    };
    broadcasts.add(keyword, listener);
    if (onConnection) this.linkListeners.add(onConnection);
    const subscription: Subscription = {
      unsubscribe: () => {
        broadcasts.remove(keyword, listener);
        if (onConnection) this.linkListeners.delete(onConnection);
      },
    };
    try {
      await this.sync(keyword, broadcasts, deadline);
    } catch (error) {
      subscription.unsubscribe();
      throw error;
    }
    return subscription;
  }

  /**
   * A SUB socket receives nothing until its subscription has reached the
   * publisher (ZeroMQ's slow joiner). Ask the dispatcher to publish a mark
   * with a fresh token until one arrives: from then on no change is missed.
   */
  private async sync(keyword: string, broadcasts: BroadcastSubscriber, deadline: number): Promise<void> {
    let endpoint = '';
    while (Date.now() < deadline) {
      const token = randomBytes(8).toString('hex');
      const wait = broadcasts.awaitMark(token, Math.max(1, Math.min(250, deadline - Date.now())));
      endpoint = (await this.locate()).broadcast;
      await this.call('sync', [Buffer.from(keyword), Buffer.from(token)], keyword || undefined);
      if (await wait) return;
    }
    throw new DispatcherUnavailableError(this.name, endpoint, this.client.timeoutMs, keyword || undefined);
  }

  /**
   * The broadcast link went down: tell the monitors, and while it stays down
   * ask the registry now and then whether the dispatcher came back elsewhere
   * (`locate` moves the subscriber there).
   */
  private onLink(state: LinkState, endpoint: string): void {
    for (const listener of [...this.linkListeners]) {
      try {
        listener({ service: this.name, state, endpoint });
      } catch {
        // A throwing listener is the caller's bug; the others still hear.
      }
    }
    clearInterval(this.relocating);
    this.relocating = undefined;
    if (state === 'restored' || this.client.direct || this.closed) return;
    this.relocating = setInterval(() => {
      if (this.closed || (this.broadcasts?.subscriptions ?? 0) === 0) {
        clearInterval(this.relocating);
        return;
      }
      this.location = undefined;
      this.locate().catch(() => undefined);
    }, Math.max(100, this.client.timeoutMs));
    this.relocating.unref();
  }

  private locate(): Promise<Location> {
    if (this.closed) return Promise.reject(new KeywordClosedError(this.name));
    if (!this.location) {
      const pending = this.client.lookup(this.name);
      this.location = pending;
      pending.then(
        (loc) => {
          if (this.broadcasts && this.location === pending) this.broadcasts.connect(loc.broadcast);
        },
        () => {
          if (this.location === pending) this.location = undefined;
        },
      );
    }
    return this.location;
  }

  private channelTo(endpoint: string): RequestChannel {
    if (this.channel && this.channel.endpoint === endpoint && !this.channel.isClosed) return this.channel;
    this.channel?.close();
    const curve = this.client.security?.dispatcher;
    this.channel = new RequestChannel(endpoint, { timeoutMs: this.client.timeoutMs, limits: this.client.limits, ...(curve ? { curve } : {}) });
    return this.channel;
  }
}

/** One keyword of a service: read, write, identify, monitor, wait. */
export class Keyword {
  constructor(
    readonly service: KeywordService,
    readonly name: string,
  ) {}

  /** The current value: its ascii form (text), or with `{binary: true}` the native value (a Buffer for strings). */
  read(options?: { binary?: false }): Promise<string>;
  read(options: { binary: true }): Promise<BinaryValue>;
  read(options?: { binary?: boolean }): Promise<string | BinaryValue>;
  async read(options: { binary?: boolean } = {}): Promise<string | BinaryValue> {
    const bytes = await this.readBytes();
    if (!options.binary) return bytes.toString('utf8');
    return this.toBinary(bytes);
  }

  /** The ascii form exactly as the dispatcher holds it: any bytes, ':' and NUL included. */
  async readBytes(): Promise<Buffer> {
    const payload = await this.service.call('update', [Buffer.from(this.name)], this.name);
    const value = parseValue(payload, this.name);
    if (isRejected(value)) throw new KeywordError('protocol', `malformed update reply: ${value.reason}`, { service: this.service.name, keyword: this.name });
    return value;
  }

  /**
   * Writes a value: text or bytes are an ascii form, numbers and booleans a
   * native one; the dispatcher validates it against the keyword's type. With
   * `wait` (the default) resolves with the value now held, in ascii form;
   * with `{wait: false}` resolves once the request is sent, and its answer is
   * ignored (a refused write is then only seen by reading back).
   */
  write(value: KeywordInput, options?: { wait?: true }): Promise<string>;
  write(value: KeywordInput, options: { wait: false }): Promise<void>;
  write(value: KeywordInput, options?: { wait?: boolean }): Promise<string | void>;
  async write(value: KeywordInput, options: { wait?: boolean } = {}): Promise<string | void> {
    if (options.wait === false) {
      await new Promise<void>((resolve, reject) => {
        this.modify(value, resolve).catch(reject);
      });
      return;
    }
    return (await this.modify(value)).toString('utf8');
  }

  /** Like `write`, resolving with the value now held exactly as bytes. */
  writeBytes(value: KeywordInput): Promise<Buffer> {
    return this.modify(value);
  }

  private async modify(value: KeywordInput, onSent?: () => void): Promise<Buffer> {
    const payload = await this.service.call('modify', [Buffer.from(this.name), inputToAscii(value)], this.name, onSent);
    const held = parseValue(payload, this.name);
    if (isRejected(held)) throw new KeywordError('protocol', `malformed modify reply: ${held.reason}`, { service: this.service.name, keyword: this.name });
    return held;
  }

  identify(): Promise<KeywordDescriptor> {
    return this.service.identify(this.name);
  }

  /** Calls `callback` on every change, in order, until unsubscribed; resolves once no change can be missed. */
  async monitor(callback: (update: KeywordUpdate) => void, options: MonitorOptions = {}): Promise<Subscription> {
    const subscription = await this.service.subscribe(this.name, callback, this.service.client.timeoutMs, options.onConnection);
    if (options.prime) {
      try {
        const bytes = await this.readBytes();
        callback({ service: this.service.name, keyword: this.name, seq: 0, ascii: bytes.toString('utf8'), bytes, binary: await this.toBinary(bytes) });
      } catch (error) {
        subscription.unsubscribe();
        throw error;
      }
    }
    return subscription;
  }

  /** The changes as an RxJS Observable (subscribing starts a monitor, unsubscribing ends it). */
  changes(): Observable<KeywordUpdate> {
    return new Observable<KeywordUpdate>((subscriber) => {
      let subscription: Subscription | undefined;
      let done = false;
      this.monitor((u) => subscriber.next(u)).then(
        (s) => {
          if (done) s.unsubscribe();
          else subscription = s;
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        done = true;
        subscription?.unsubscribe();
      };
    });
  }

  /** Resolves with the next change (that satisfies `until`), or rejects with KeywordTimeoutError. */
  wait(options: WaitOptions): Promise<KeywordUpdate> {
    return new Promise<KeywordUpdate>((resolve, reject) => {
      let subscription: Subscription | undefined;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        fn();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new KeywordTimeoutError('timeout', `no change of ${this.service.name}.${this.name} within ${options.timeout} ms`, { service: this.service.name, keyword: this.name })),
          ),
        options.timeout,
      );
      this.service.subscribe(this.name, (u) => {
        if (!options.until || options.until(u)) finish(() => resolve(u));
      }, options.timeout).then(
        (s) => {
          if (settled) s.unsubscribe();
          else subscription = s;
        },
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  private async toBinary(bytes: Buffer): Promise<BinaryValue> {
    const desc = await this.identify();
    const cast = fromAscii(desc, bytes);
    if (!cast.ok) throw new KeywordError('protocol', `${this.service.name}.${this.name} holds a value its type refuses: ${cast.reason}`, { service: this.service.name, keyword: this.name });
    return cast.value.binary;
  }
}

/**
 * KTL's entry point: `service('kpfguide').keyword('TEMP').read()`. Opens a
 * client of its own (closed with the service's `close()`).
 */
export function service(name: string, options: KeywordClientOptions = {}): KeywordService & { close(): void } {
  const client = new KeywordClient(options);
  const svc = client.service(name);
  const close = () => client.close();
  return Object.assign(svc, { close });
}
