import { Deque } from '../../util/deque.js';
import type { HeldFinal, Pending, StreamState } from './broker-types.js';

/** What a held part costs beyond its bytes: its array and slot, estimated. */
export const PART_OVERHEAD_BYTES = 64;

/** The default of `maxStreamBytes`: what one stream's parts may hold while its client reads slower than its worker writes. */
export const DEFAULT_MAX_STREAM_BYTES = 4 * 1024 * 1024;

/** What `partial` did with a part: sent it, held it for the client's window, or refused it for a limit. */
export type PartialOutcome = 'sent' | 'held' | 'stream_overflow' | 'stream_memory_full';

function sizeOf(body: readonly Buffer[]): number {
  let n = PART_OVERHEAD_BYTES;
  for (let i = 0; i < body.length; i++) n += (body[i] as Buffer).length;
  return n;
}

/**
 * Per-stream windows and the parts held for slow readers, bounded. A stream's
 * partial replies go to its client while the client's window allows (it
 * grants partials as it reads them); past it they wait here, at most
 * `maxStreamBytes` per stream and `maxBytes` for all streams together, and a
 * stream that would pass either is refused, never cut short silently. A
 * conforming worker (steward's, which gets the same window) never makes the
 * broker hold anything; an MDP/0.2 worker knows no window, so for its streams
 * this is where the bound is. Nothing here stops reading a socket, so one
 * slow stream never stalls another.
 *
 * Plain code on the hot path of streams only: a unary request never comes here.
 */
export class StreamWindows {
  private bytes = 0;
  /** Streams whose client has a window (steward clients), open until they end: the tick checks them for silence. */
  readonly windowed = new Set<Pending>();
  /** Streams whose final answer waits behind held parts: their worker is done, their client still reads. */
  private finishing = 0;
  private count = 0;

  constructor(
    readonly maxStreamBytes: number = DEFAULT_MAX_STREAM_BYTES,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Bytes held for slow readers, all streams together. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Streams whose worker is done but whose client has parts left to read. */
  get awaitingClient(): number {
    return this.finishing;
  }

  /** Streams open now (queued, in flight, or waiting for their client to read). */
  get size(): number {
    return this.count;
  }

  /** `window` 0: the client has no window (MDP/0.2), so parts go as they come. */
  open(p: Pending, window: number, now: number): StreamState {
    const state: StreamState = {
      window: window === 0 ? Number.POSITIVE_INFINITY : window,
      held: new Deque(4),
      final: undefined,
      bytes: 0,
      sent: 0,
      open: true,
      lastHeard: now,
    };
    p.stream = state;
    this.count += 1;
    if (window > 0) this.windowed.add(p);
    return state;
  }

  /** A partial from the worker: sent now when the window allows and nothing waits before it, else held within the limits. */
  partial(s: StreamState, body: Buffer[], send: (body: readonly Buffer[]) => void): PartialOutcome {
    if (s.window > 0 && s.held.length === 0 && s.final === undefined) {
      s.window -= 1;
      s.sent += 1;
      send(body);
      return 'sent';
    }
    const cost = sizeOf(body);
    if (s.bytes + cost > this.maxStreamBytes) return 'stream_overflow';
    if (this.bytes + cost > this.maxBytes) return 'stream_memory_full';
    s.held.push(body);
    s.bytes += cost;
    this.bytes += cost;
    return 'held';
  }

  /**
   * The stream's last answer. True when nothing waits before it: the caller
   * answers now. Else it waits behind the held parts (a final is never
   * refused: it ends the stream, and its size is the broker's message limit's).
   */
  final(s: StreamState, final: HeldFinal): boolean {
    if (s.held.length === 0) return true;
    if (s.final === undefined) this.finishing += 1;
    const cost = final.ok ? sizeOf(final.body) : PART_OVERHEAD_BYTES;
    s.final = final;
    s.bytes += cost;
    this.bytes += cost;
    return false;
  }

  /**
   * The client read `credit` more parts (0: it is only saying it is there).
   * Sends what waited, as far as the window goes, and returns the final
   * answer when it is due now: the stream is then over for the broker.
   */
  refill(s: StreamState, credit: number, now: number, send: (body: readonly Buffer[]) => void): HeldFinal | undefined {
    s.lastHeard = now;
    s.window += credit;
    while (s.window > 0 && s.held.length > 0) {
      const body = s.held.shift() as Buffer[];
      const cost = sizeOf(body);
      s.bytes -= cost;
      this.bytes -= cost;
      s.window -= 1;
      s.sent += 1;
      send(body);
    }
    if (s.held.length > 0 || s.final === undefined) return undefined;
    const final = s.final;
    this.forget(s);
    return final;
  }

  /** The stream ended or was given up: what it held is forgotten. */
  close(p: Pending): void {
    const s = p.stream;
    if (s === undefined || !s.open) return;
    s.open = false;
    this.count -= 1;
    this.windowed.delete(p);
    this.forget(s);
  }

  private forget(s: StreamState): void {
    if (s.final !== undefined) this.finishing -= 1;
    this.bytes -= s.bytes;
    s.bytes = 0;
    s.final = undefined;
    while (s.held.length > 0) s.held.shift();
  }
}
