/**
 * What a client knows about each broker it was given, and which one the next
 * attempt goes to: the zguide's Freelance pattern (model three) with
 * Paranoid Pirate's liveness. Plain code, no sockets and no timers: the
 * client calls `heard` for every message a broker sends (a PONG, a reply),
 * `timedOut` when an attempt sent to it went unanswered, and `tick` once per
 * heartbeat interval, when it also pings every broker.
 *
 *   unknown   not heard from yet (a new client): used when no broker is known alive
 *   alive     heard from within `silenceMs`
 *   suspect   an attempt to it timed out: it must answer a PING before it
 *             gets new attempts again, unless no alive broker is left
 *   draining  it said it is shutting down (PONG flag): last resort only
 *   dead      silent for `silenceMs`: last resort only, pinged until it answers
 */
export type BrokerState = 'unknown' | 'alive' | 'suspect' | 'draining' | 'dead';

interface Entry {
  state: BrokerState;
  lastHeard: number;
}

/** Lower is better: alive, then not heard from yet, then suspect, then draining or dead. */
function tier(state: BrokerState): number {
  return state === 'alive' ? 0 : state === 'unknown' ? 1 : state === 'suspect' ? 2 : 3;
}

export class BrokerSet {
  private readonly entries: Entry[];
  private next = 0;

  constructor(
    readonly endpoints: readonly string[],
    /** A broker silent this long is dead: heartbeat interval x liveness. */
    private readonly silenceMs: number,
    now: number,
  ) {
    this.entries = endpoints.map(() => ({ state: 'unknown', lastHeard: now }));
  }

  get size(): number {
    return this.entries.length;
  }

  state(i: number): BrokerState {
    return (this.entries[i] as Entry).state;
  }

  lastHeard(i: number): number {
    return (this.entries[i] as Entry).lastHeard;
  }

  /** Whether any broker has been heard from yet. */
  anyHeard(): boolean {
    return this.entries.some((e) => e.state !== 'unknown');
  }

  /** Any message from broker `i` (a PONG, a reply). Returns true when it was not usable before: calls may go to it again. */
  heard(i: number, now: number, draining = false): boolean {
    const e = this.entries[i] as Entry;
    const before = tier(e.state);
    e.lastHeard = now;
    e.state = draining ? 'draining' : 'alive';
    return tier(e.state) < before;
  }

  /** An attempt sent to broker `i` got no answer in time: it gets no new attempts until it answers a PING (sent at once by the caller). */
  timedOut(i: number): void {
    const e = this.entries[i] as Entry;
    if (e.state === 'alive' || e.state === 'unknown') e.state = 'suspect';
  }

  /** The connection to broker `i` closed: dead until it answers again. */
  lost(i: number): void {
    (this.entries[i] as Entry).state = 'dead';
  }

  /** Once per heartbeat interval: brokers silent for `silenceMs` are dead. */
  tick(now: number): void {
    for (const e of this.entries) if (e.state !== 'dead' && now - e.lastHeard > this.silenceMs) e.state = 'dead';
  }

  /**
   * The broker for the next attempt: the best tier first (alive, not heard yet, suspect,
   * draining or dead), round-robin within it, never one in `never` (unless
   * that leaves none, then undefined), and `avoid` (the broker the last attempt
   * timed out on) only when it is alone in the best tier.
   */
  pick(never?: ReadonlySet<number>, avoid?: number): number | undefined {
    const n = this.entries.length;
    let best = 4;
    for (let i = 0; i < n; i++) if (!never?.has(i)) best = Math.min(best, tier((this.entries[i] as Entry).state));
    if (best === 4) return undefined;
    let fallback: number | undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (never?.has(i) || tier((this.entries[i] as Entry).state) !== best) continue;
      if (i === avoid) {
        fallback ??= i;
        continue;
      }
      this.next = (i + 1) % n;
      return i;
    }
    return fallback;
  }

  /** Brokers a call could still try: not in `never`, and not dead or draining. */
  usable(never?: ReadonlySet<number>): number {
    let count = 0;
    for (let i = 0; i < this.entries.length; i++) if (!never?.has(i) && tier((this.entries[i] as Entry).state) < 3) count++;
    return count;
  }

  snapshot(): Array<{ endpoint: string; state: BrokerState; lastHeard: number }> {
    return this.entries.map((e, i) => ({ endpoint: this.endpoints[i] as string, state: e.state, lastHeard: e.lastHeard }));
  }
}
