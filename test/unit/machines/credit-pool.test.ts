import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreditPool, type CreditPort } from '../../../src/machines/worker/credit-pool.js';

/** A link as the pool sees it: what it was told, in order, and the credit its broker would now enforce. */
class FakeLink implements CreditPort {
  readonly said: string[] = [];
  /** Credits sent and not yet seen by the broker (the wire between them). */
  readonly wire: number[] = [];
  brokerCredit = 0;
  resumed = 0;
  register(credit: number): void {
    this.said.push(`ready ${credit}`);
    this.brokerCredit = credit;
  }
  setCredit(credit: number): void {
    this.said.push(`credit ${credit}`);
    this.wire.push(credit);
  }
  resume(): void {
    this.resumed += 1;
  }
  /** The broker reads the next credit change off the wire; returns it, to echo. */
  deliver(): number | undefined {
    const c = this.wire.shift();
    if (c !== undefined) this.brokerCredit = c;
    return c;
  }
}

function pool(capacity: number, links: number, offset = 0) {
  const p = new CreditPool(capacity, links, 'shared', offset);
  const ports = Array.from({ length: links }, (_, i) => {
    const port = new FakeLink();
    p.attach(i, port);
    return port;
  });
  return { p, ports };
}

describe('credit pool: one worker concurrency over several brokers', () => {
  it('should register with each broker that answers, splitting the concurrency evenly', () => {
    const { p, ports } = pool(8, 2);
    p.up(0);
    expect(ports[0]!.said).toEqual(['ready 8']);
    p.up(1);
    // The first broker is lowered to its half first; the second gets its half only once the echo says so.
    expect(ports[0]!.said).toEqual(['ready 8', 'credit 4']);
    expect(ports[1]!.said).toEqual([]);
    p.confirmed(0, ports[0]!.deliver()!);
    expect(ports[1]!.said).toEqual(['ready 4']);
    expect(p.free()).toBe(0);
  });

  it('should give a lost broker share to the live ones at once, keeping what it still holds counted', () => {
    const { p, ports } = pool(6, 3);
    p.up(0);
    p.up(1);
    p.up(2);
    // Lowered twice before any echo: 6, then 3, then 2; the others wait for the echoes.
    expect(ports.map((l) => l.said)).toEqual([['ready 6', 'credit 3', 'credit 2'], [], []]);
    // Each echo frees what the new credit no longer covers, and it goes to the others at once, partly if need be.
    p.confirmed(0, ports[0]!.deliver()!);
    expect(ports.map((l) => l.said)).toEqual([['ready 6', 'credit 3', 'credit 2'], ['ready 2'], ['ready 1']]);
    p.confirmed(0, ports[0]!.deliver()!);
    expect(ports.map((l) => l.said.at(-1))).toEqual(['credit 2', 'ready 2', 'credit 2']);
    p.confirmed(2, ports[2]!.deliver()!);
    expect([0, 1, 2].map((i) => p.granted(i))).toEqual([2, 2, 2]);
    expect(p.admit(0)).toBe(true);
    p.lost(0);
    // Broker 0 still holds one running request: its slot stays counted until it finishes.
    expect(p.free()).toBeGreaterThanOrEqual(0);
    const total = () => [0, 1, 2].reduce((n, i) => n + Math.max(p.granted(i), p.held(i)), 0);
    expect(total()).toBeLessThanOrEqual(6);
    p.release(0);
    expect(total()).toBeLessThanOrEqual(6);
    expect(ports.map((l) => l.said.length > 0)).toEqual([true, true, true]);
  });

  it('should register with only as many brokers as it has slots, spread by its offset', () => {
    const a = pool(1, 2, 0);
    a.p.up(0);
    a.p.up(1);
    expect(a.ports.map((l) => l.said)).toEqual([['ready 1'], []]);
    const b = pool(1, 2, 1);
    b.p.up(0);
    b.p.up(1);
    expect(b.ports.map((l) => l.said)).toEqual([['ready 1'], []]);
    // With both up before the first grant, the offset decides.
    const c = new CreditPool(1, 2, 'shared', 1);
    const ports = [new FakeLink(), new FakeLink()];
    ports.forEach((port, i) => c.attach(i, port));
    c.up(1);
    expect(ports.map((l) => l.said)).toEqual([[], ['ready 1']]);
    // The one it is registered with goes: the slot moves to the other.
    c.up(0);
    c.lost(1);
    expect(ports.map((l) => l.said)).toEqual([['ready 1'], ['ready 1']]);
  });

  it('should hold back a request beyond the room and resume it when a slot frees', () => {
    const { p, ports } = pool(1, 2);
    p.up(0);
    expect(p.admit(0)).toBe(true);
    // A late request from a broker given up on: no room, it waits.
    expect(p.admit(1)).toBe(false);
    // Broker 0 is lost: once its running request finishes, the slot is nobody's.
    p.lost(0);
    p.release(0);
    expect(ports[1]!.resumed).toBe(1);
    expect(p.admit(1)).toBe(true);
  });

  it('should refuse static shares that cannot give each MDP broker one', () => {
    expect(() => new CreditPool(1, 2, 'static')).toThrow(/concurrency 1 is less than the 2 brokers/);
    const p = new CreditPool(5, 2, 'static');
    const ports = [new FakeLink(), new FakeLink()];
    ports.forEach((port, i) => p.attach(i, port));
    p.up(0);
    p.up(1);
    expect(ports.map((l) => l.said)).toEqual([['ready 3'], ['ready 2']]);
  });

  it('should never let the brokers together hand out more than the concurrency, whatever happens in whatever order', () => {
    type Op = { kind: 'up' | 'lost' | 'deliver' | 'request' | 'finish'; link: number };
    const op = fc.record({ kind: fc.constantFrom<Op['kind']>('up', 'lost', 'deliver', 'request', 'request', 'finish', 'finish'), link: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const p = new CreditPool(capacity, 3, 'shared', 0);
        const links = [0, 1, 2].map((i) => {
          const port = new FakeLink();
          p.attach(i, port);
          return port;
        });
        /** What each broker has handed out and not had answered, per registration. */
        const outstanding = [0, 0, 0];
        const registered = [false, false, false];
        let running = 0;
        const waiting = [0, 0, 0];
        for (const { kind, link } of ops) {
          const l = links[link]!;
          const before = l.said.length;
          if (kind === 'up') p.up(link);
          else if (kind === 'lost') {
            // The broker forgets the worker: nothing more comes from it (what it sent is still answered).
            registered[link] = false;
            l.wire.length = 0;
            l.brokerCredit = 0;
            p.lost(link);
          } else if (kind === 'deliver') {
            const c = l.deliver();
            if (c !== undefined && registered[link]) p.confirmed(link, c);
          } else if (kind === 'request') {
            // The broker sends only within the credit it enforces now.
            if (!registered[link] || outstanding[link]! >= l.brokerCredit) continue;
            outstanding[link]! += 1;
            if (p.admit(link)) running += 1;
            else waiting[link]! += 1;
          } else if (kind === 'finish') {
            if (p.held(link) === 0) continue;
            p.release(link);
            running -= 1;
            outstanding[link] = Math.max(0, outstanding[link]! - 1);
          }
          for (const said of l.said.slice(before)) if (said.startsWith('ready')) registered[link] = true;
          expect(running).toBeLessThanOrEqual(capacity);
          expect(p.running).toBe(running);
          // What registered brokers may still hand out, plus what runs, never exceeds the concurrency.
          let promised = 0;
          for (let i = 0; i < 3; i++) if (registered[i]) promised += Math.max(links[i]!.brokerCredit, ...links[i]!.wire, p.held(i));
          expect(promised).toBeLessThanOrEqual(capacity);
        }
      }),
      { numRuns: 500, seed: 15 },
    );
  });
});
