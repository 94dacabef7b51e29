/**
 * One worker's concurrency shared by its brokers. A worker registered with N
 * brokers must never hold more than `capacity` requests across all of them,
 * yet each broker hands out work on its own, up to the credit it was told.
 * So the pool gives each live broker a share (its credit), and the shares
 * never add up to more than the capacity:
 *
 *  - A share counts from the moment the worker tells a broker (READY, or a
 *    WORKER_CREDIT raising it), and a lowered share only once the broker
 *    echoed the lower credit: the echo travels behind every request the broker
 *    sent before it, so nothing sent under the old credit is still unseen.
 *  - A broker that is lost (silent, said DISCONNECT, or the link stopped)
 *    keeps only what it still holds; its share goes to the live ones. One that
 *    answers again (PONG) gets a share back, taken from the others by lowering
 *    their credit first.
 *  - Shares are even over the live brokers. With fewer slots than live
 *    brokers, some brokers get none and the worker does not register with
 *    them (a client asking such a broker hears "no worker" and asks another).
 *
 * Requests are admitted against the owning link's share, or spare capacity;
 * anything beyond (a late request from a broker already given up on) waits
 * until a slot frees, so the worker never runs more than `capacity` at once.
 *
 * With `static` shares (MDP/0.1 brokers, which know no WORKER_CREDIT) each
 * broker gets a fixed share for good, and the capacity must cover at least one
 * per broker.
 *
 * Plain code: links call in, the pool calls back through each link's port.
 */
export interface CreditPort {
  /** Register with this broker, announcing `credit`. */
  register(credit: number): void;
  /** Tell the registered broker its new credit (WORKER_CREDIT). */
  setCredit(credit: number): void;
  /** Room freed for requests this link had to hold back. */
  resume(): void;
}

interface Share {
  port: CreditPort | undefined;
  /** The broker answered and the link may register with it. */
  live: boolean;
  registered: boolean;
  /** Last credit the broker confirmed (READY counts as confirmed). */
  confirmed: number;
  /** Credits sent and not echoed yet, oldest first. */
  unconfirmed: number[];
  /** Requests from this broker running now. */
  held: number;
  /** Requests from this broker held back for want of room. */
  waiting: boolean;
}

export type ShareMode = 'shared' | 'static';

export class CreditPool {
  private readonly shares: Share[];
  private stopping = false;

  /**
   * Where this worker starts counting brokers when it has fewer slots than live
   * brokers: random, so that workers with concurrency 1 spread over the brokers
   * instead of all registering with the first.
   */
  private readonly offset: number;

  constructor(
    readonly capacity: number,
    links: number,
    readonly mode: ShareMode = 'shared',
    offset = Math.floor(Math.random() * Math.max(1, links)),
  ) {
    this.offset = offset;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`concurrency must be a positive integer, got ${capacity}`);
    if (mode === 'static' && capacity < links) {
      throw new RangeError(
        `concurrency ${capacity} is less than the ${links} brokers given: with the MDP wire each broker takes at least one request at a time, so the worker could hold ${links}; raise --concurrency to ${links} or use the steward wire`,
      );
    }
    this.shares = Array.from({ length: links }, () => ({ port: undefined, live: false, registered: false, confirmed: 0, unconfirmed: [], held: 0, waiting: false }));
  }

  /** A link (new, or restarted after a crash) takes its place; what its predecessor held still counts. */
  attach(i: number, port: CreditPort): void {
    const s = this.share(i);
    s.port = port;
    s.live = false;
    s.registered = false;
    s.confirmed = 0;
    s.unconfirmed = [];
    s.waiting = false;
  }

  /** The most the broker may have handed out to this link under credits it knows of. */
  granted(i: number): number {
    const s = this.share(i);
    if (!s.registered) return 0;
    let g = s.confirmed;
    for (const c of s.unconfirmed) if (c > g) g = c;
    return g;
  }

  held(i: number): number {
    return this.share(i).held;
  }

  /** Slots reserved by nobody. */
  free(): number {
    let used = 0;
    for (let i = 0; i < this.shares.length; i++) used += Math.max(this.granted(i), this.share(i).held);
    return this.capacity - used;
  }

  /** Requests running now across every link. */
  get running(): number {
    return this.shares.reduce((n, s) => n + s.held, 0);
  }

  /** Broker `i` answered: it may get a share. */
  up(i: number): void {
    this.share(i).live = true;
    this.plan();
  }

  /** Broker `i`'s registration is gone: it keeps what it holds, its share goes to the others. */
  lost(i: number): void {
    const s = this.share(i);
    s.live = false;
    s.registered = false;
    s.confirmed = 0;
    s.unconfirmed = [];
    this.plan();
  }

  /** The broker echoed a WORKER_CREDIT: it will hand out no more than `credit` from now on. */
  confirmed(i: number, credit: number): void {
    const s = this.share(i);
    const at = s.unconfirmed.indexOf(credit);
    if (at < 0) return;
    s.unconfirmed.splice(0, at + 1);
    s.confirmed = credit;
    this.plan();
  }

  /** The worker is shutting down: shares stay as they are. */
  stop(): void {
    this.stopping = true;
  }

  /** A request from broker `i` arrived: true when it may run now (then it counts as held until `release`). */
  admit(i: number): boolean {
    const s = this.share(i);
    if (s.held < this.granted(i) || this.free() > 0) {
      s.held += 1;
      return true;
    }
    s.waiting = true;
    return false;
  }

  /** A request from broker `i` finished. */
  release(i: number): void {
    const s = this.share(i);
    s.held -= 1;
    for (const w of this.shares) {
      if (!w.waiting) continue;
      w.waiting = false;
      w.port?.resume();
    }
    this.plan();
  }

  private share(i: number): Share {
    const s = this.shares[i];
    if (s === undefined) throw new RangeError(`no link ${i}`);
    return s;
  }

  /** What each live link should have: even shares, registered links first when there are too few slots. */
  private targets(): number[] {
    const n = this.shares.length;
    const out = new Array<number>(n).fill(0);
    if (this.mode === 'static') {
      for (let i = 0; i < n; i++) out[i] = Math.floor(this.capacity / n) + (i < this.capacity % n ? 1 : 0);
      return out;
    }
    const live = [...this.shares.keys()].filter((i) => this.share(i).live);
    const n2 = this.shares.length;
    const order = (i: number) => (i - this.offset + n2) % n2;
    live.sort((a, b) => Number(this.share(b).registered) - Number(this.share(a).registered) || order(a) - order(b));
    const base = Math.floor(this.capacity / live.length);
    const extra = this.capacity % live.length;
    live.forEach((i, k) => (out[i] = base + (k < extra ? 1 : 0)));
    return out;
  }

  /** Lower what is above its target, then raise (or register) what is below, as far as free slots allow. */
  private plan(): void {
    if (this.stopping || this.shares.every((s) => !s.live)) return;
    const targets = this.targets();
    for (let i = 0; i < this.shares.length; i++) {
      const s = this.share(i);
      const target = targets[i] as number;
      if (!s.registered || target < 1) continue;
      const last = s.unconfirmed.at(-1) ?? s.confirmed;
      if (target < last) {
        s.unconfirmed.push(target);
        s.port?.setCredit(target);
      }
    }
    for (let i = 0; i < this.shares.length; i++) {
      const s = this.share(i);
      if (!s.live || s.port === undefined) continue;
      const target = targets[i] as number;
      const last = s.registered ? (s.unconfirmed.at(-1) ?? s.confirmed) : 0;
      if (target <= last) continue;
      // Raising the credit to `next` reserves max(next, held) instead of max(granted, held): it must fit in the free slots.
      const next = Math.min(target, Math.max(this.granted(i), s.held) + this.free());
      if (next <= last) continue;
      if (!s.registered) {
        s.registered = true;
        s.confirmed = next;
        s.unconfirmed = [];
        s.port.register(next);
      } else {
        s.unconfirmed.push(next);
        s.port.setCredit(next);
      }
    }
  }
}
