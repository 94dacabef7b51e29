import * as zmq from 'zeromq';
import { isRejection } from '../../protocol/codec.js';
import type { Logger } from '../../log.js';
import { DEFAULT_KEYWORDS_LIMITS, broadcastTopic, decodeBroadcast, type KeywordsLimits } from '../../protocol/keywords.js';
import { curveClientSocketOptions, watchClientHandshakes, type ResolvedCurveClient } from '../../security/curve.js';
import { readUntilClosed } from '../../util/socket-reader.js';

export interface RawBroadcast {
  readonly keyword: string;
  readonly seq: number;
  readonly value: Buffer;
}

type Listener = (b: RawBroadcast) => void;

/** The link to the publisher went down (the dispatcher stopped or died) or came back. */
export type LinkState = 'lost' | 'restored';

/**
 * One SUB socket per service, shared by every monitor of its keywords.
 * Subscriptions are per keyword topic (`service\0KEYWORD\0`), reference
 * counted; `''` subscribes to the whole service. Sync marks (see the
 * `sync` command) resolve whoever waits for their token.
 */
export class BroadcastSubscriber {
  private socket: zmq.Subscriber | undefined;
  private endpoint: string | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly syncWaiters = new Map<string, () => void>();
  private closed = false;
  private down = false;

  constructor(
    readonly service: string,
    private readonly limits: KeywordsLimits = DEFAULT_KEYWORDS_LIMITS,
    private readonly onLink?: (state: LinkState, endpoint: string) => void,
    /** CURVE keys towards the dispatcher's broadcast socket. */
    private readonly curve?: { readonly keys: ResolvedCurveClient; readonly log: Logger },
  ) {}

  /** Connects to `endpoint`, moving there (subscriptions kept) if the dispatcher moved. */
  connect(endpoint: string): void {
    if (this.closed || this.endpoint === endpoint) return;
    const socket = this.ensureSocket();
    if (this.endpoint !== undefined) {
      try {
        socket.disconnect(this.endpoint);
      } catch {
        // Already gone.
      }
    }
    this.endpoint = endpoint;
    socket.connect(endpoint);
  }

  add(keyword: string, listener: Listener): void {
    if (this.closed) return;
    let set = this.listeners.get(keyword);
    if (!set) {
      set = new Set();
      this.listeners.set(keyword, set);
      this.ensureSocket().subscribe(broadcastTopic(this.service, keyword));
    }
    set.add(listener);
  }

  remove(keyword: string, listener: Listener): void {
    const set = this.listeners.get(keyword);
    if (!set || !set.delete(listener) || set.size > 0) return;
    this.listeners.delete(keyword);
    if (this.socket && !this.socket.closed) this.socket.unsubscribe(broadcastTopic(this.service, keyword));
  }

  /** Resolves when the mark with this token arrives, or false after `ms`. */
  awaitMark(token: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.syncWaiters.delete(token);
        resolve(false);
      }, ms);
      this.syncWaiters.set(token, () => {
        clearTimeout(timer);
        this.syncWaiters.delete(token);
        resolve(true);
      });
    });
  }

  get subscriptions(): number {
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    for (const done of [...this.syncWaiters.values()]) done();
    this.socket?.close();
    this.socket = undefined;
  }

  private ensureSocket(): zmq.Subscriber {
    if (this.socket) return this.socket;
    const socket = new zmq.Subscriber({
      linger: 0,
      maxMessageSize: this.limits.maxValueBytes + 64 * 1024,
      receiveHighWaterMark: 100_000,
      ...(this.curve ? curveClientSocketOptions(this.curve.keys) : {}),
    });
    if (this.curve) watchClientHandshakes(socket, this.curve.log, this.curve.keys);
    this.socket = socket;
    // Transport events, not application heartbeats: enough to tell a monitor its dispatcher went away.
    socket.events.on('disconnect', (e) => {
      if (this.closed || e.address !== this.endpoint) return;
      this.down = true;
      this.onLink?.('lost', e.address);
    });
    socket.events.on('connect', (e) => {
      if (this.closed || !this.down || e.address !== this.endpoint) return;
      this.down = false;
      this.onLink?.('restored', e.address);
    });
    void readUntilClosed(socket, (frames) => this.onMessage(frames));
    return socket;
  }

  private onMessage(frames: Buffer[]): void {
    const b = decodeBroadcast(frames, this.limits);
    // The topic is checked against the frames inside; this is only belt and braces against a shared socket.
    if (isRejection(b) || b.service !== this.service) return;
    if (b.type === 'keywords.syncMark') {
      this.syncWaiters.get(b.token)?.();
      return;
    }
    const raw: RawBroadcast = { keyword: b.keyword, seq: b.seq, value: b.value };
    for (const key of [b.keyword, '']) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const listener of [...set]) {
        try {
          listener(raw);
        } catch {
          // A throwing callback is the caller's bug; it must not stop the others or the read loop.
        }
      }
    }
  }
}
