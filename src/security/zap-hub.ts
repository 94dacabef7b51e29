import * as zmq from 'zeromq';
import { readUntilClosed } from '../util/socket-reader.js';
import { SocketWriter } from '../util/socket-writer.js';
import { ZAP_ENDPOINT, answerZap, type ZapDecision, type ZapPolicy } from './zap.js';

export interface ZapRegistration {
  readonly domain: string;
  /** Swaps the allow-list; handshakes from now on are judged by it. */
  update(policy: ZapPolicy): void;
  release(): void;
}

interface Entry {
  policy: ZapPolicy;
  readonly onDecision: (decision: ZapDecision) => void;
}

const BIND_ATTEMPTS = 40;
const BIND_RETRY_MS = 25;
const EMPTY = Buffer.alloc(0);

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/**
 * The process's one ZAP socket. libzmq asks a single handler per context (the
 * one bound at inproc://zeromq.zap.01), yet one process may run several CURVE
 * servers (the local mesh, a dispatcher with the registry it started, tests),
 * so each server registers a ZAP domain here with its own allow-list, and the
 * socket lives while any registration does. A handshake naming a domain
 * nobody registered is refused, never waved through.
 */
export class ZapHub {
  private socket: zmq.Router | undefined;
  private writer: SocketWriter | undefined;
  private bound: Promise<void> | undefined;
  private readonly entries = new Map<string, Entry>();

  register(domain: string, policy: ZapPolicy, onDecision: (decision: ZapDecision) => void): ZapRegistration {
    const entry: Entry = { policy, onDecision };
    this.entries.set(domain, entry);
    this.open();
    return {
      domain,
      update: (next) => {
        entry.policy = next;
      },
      release: () => {
        // A restarted handler may have registered the domain again already; only its own entry goes.
        if (this.entries.get(domain) === entry) this.entries.delete(domain);
        if (this.entries.size === 0) this.close();
      },
    };
  }

  /** Resolves once the ZAP socket is bound and `domain` has a policy: only then may a CURVE server listen. */
  async ready(domain: string): Promise<void> {
    if (!this.bound) throw new Error(`no ZAP handler is registered for ${domain}`);
    await this.bound;
    if (!this.entries.has(domain)) throw new Error(`no ZAP handler is registered for ${domain}`);
  }

  get domains(): readonly string[] {
    return [...this.entries.keys()];
  }

  private open(): void {
    if (this.socket) return;
    const socket = new zmq.Router({ linger: 0 });
    this.socket = socket;
    this.writer = new SocketWriter(socket, () => undefined);
    const bound = this.bind(socket);
    this.bound = bound;
    bound.then(
      () => void readUntilClosed(socket, (frames) => this.handle(frames)),
      () => {
        if (this.socket === socket) this.close();
      },
    );
    // Awaited by ready(); a failure nobody awaits must not become an unhandled rejection.
    bound.catch(() => undefined);
  }

  private async bind(socket: zmq.Router): Promise<void> {
    // The previous socket of a hub that closed a moment ago may still hold the endpoint.
    for (let attempt = 1; ; attempt++) {
      try {
        await socket.bind(ZAP_ENDPOINT);
        return;
      } catch (error) {
        if (socket.closed) throw new Error('ZAP socket closed while binding');
        if (errorCode(error) !== 'EADDRINUSE') throw error;
        if (attempt >= BIND_ATTEMPTS) {
          throw new Error(`${ZAP_ENDPOINT} is taken: another ZAP handler runs in this process (steward must own it to enforce its allow-lists)`);
        }
        await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
      }
    }
  }

  private close(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.bound = undefined;
    this.writer?.stop();
    this.writer = undefined;
    socket?.close();
  }

  private handle(frames: Buffer[]): void {
    // [routing id, "", request...]: libzmq's ZAP client talks like a REQ socket.
    if (frames.length < 3 || (frames[1] as Buffer).length !== 0) return;
    const { reply, decision } = answerZap(frames.slice(2), (domain) => this.entries.get(domain)?.policy);
    if (reply) this.writer?.write([frames[0] as Buffer, EMPTY, ...reply]);
    const entry = this.entries.get(decision.domain);
    try {
      entry?.onDecision(decision);
    } catch {
      // Logging is the listener's business; a throwing one must not stop the handler answering.
    }
  }
}

/** The hub of this process's default zeromq context, which every steward socket uses. */
export const zapHub = new ZapHub();
