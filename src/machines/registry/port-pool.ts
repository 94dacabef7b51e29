/**
 * Port pairs from first-port to last-port: (first, first+1), (first+2,
 * first+3)... A freed pair goes to the back of the line, so the pair a dead
 * dispatcher held is the last one handed out again (clients that still have
 * its address find nobody there rather than another service). Ports a
 * dispatcher could not bind are set aside for a while: something else
 * holds them.
 */
export interface PortPair {
  readonly dispatch: number;
  readonly broadcast: number;
}

export class PortPool {
  /** Dispatch ports of the free pairs, least recently freed first. */
  private readonly free: number[] = [];
  private readonly blocked = new Map<number, number>();
  readonly total: number;

  constructor(
    readonly firstPort: number,
    readonly lastPort: number,
    exclude: readonly number[] = [],
  ) {
    const skip = new Set(exclude);
    for (let p = firstPort; p + 1 <= lastPort; p += 2) {
      if (!skip.has(p) && !skip.has(p + 1)) this.free.push(p);
    }
    this.total = this.free.length;
  }

  get available(): number {
    return this.free.length;
  }

  isPairStart(port: number): boolean {
    return port >= this.firstPort && port + 1 <= this.lastPort && (port - this.firstPort) % 2 === 0;
  }

  /** Takes `prefer` if it is a free pair, else the first free pair not set aside; undefined when none is left. */
  allocate(now: number, prefer?: number): PortPair | undefined {
    if (prefer !== undefined) {
      const at = this.free.indexOf(prefer);
      if (at >= 0 && !this.isBlocked(prefer, now)) {
        this.free.splice(at, 1);
        return { dispatch: prefer, broadcast: prefer + 1 };
      }
    }
    for (let i = 0; i < this.free.length; i++) {
      const p = this.free[i] as number;
      if (this.isBlocked(p, now)) continue;
      this.free.splice(i, 1);
      return { dispatch: p, broadcast: p + 1 };
    }
    return undefined;
  }

  release(pair: PortPair): void {
    if (this.isPairStart(pair.dispatch) && !this.free.includes(pair.dispatch)) this.free.push(pair.dispatch);
  }

  /** Sets a port aside until `until` (ms); its pair is not handed out before then. */
  block(port: number, until: number): void {
    this.blocked.set(port, Math.max(until, this.blocked.get(port) ?? 0));
  }

  private isBlocked(dispatch: number, now: number): boolean {
    if (this.blocked.size === 0) return false;
    for (const p of [dispatch, dispatch + 1]) {
      const until = this.blocked.get(p);
      if (until === undefined) continue;
      if (until > now) return true;
      this.blocked.delete(p);
    }
    return false;
  }
}
