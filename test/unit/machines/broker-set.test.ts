import { describe, expect, it } from 'vitest';
import { BrokerSet } from '../../../src/machines/client/broker-set.js';

const picks = (set: BrokerSet, n: number, never?: Set<number>, avoid?: number) => Array.from({ length: n }, () => set.pick(never, avoid));

describe("a client's brokers: which are alive, and where the next attempt goes", () => {
  it('should spread attempts round-robin over brokers not heard from yet, then over live ones', () => {
    const set = new BrokerSet(['a', 'b', 'c'], 3000, 0);
    expect(picks(set, 4)).toEqual([0, 1, 2, 0]);
    set.heard(1, 10);
    set.heard(2, 10);
    set.timedOut(0);
    expect(picks(set, 4)).toEqual([1, 2, 1, 2]);
  });

  it('should send nothing new to a broker an attempt timed out on until it answers, unless nothing better is left', () => {
    const set = new BrokerSet(['a', 'b'], 3000, 0);
    set.heard(0, 0);
    set.heard(1, 0);
    set.timedOut(0);
    expect(set.state(0)).toBe('suspect');
    expect(picks(set, 3)).toEqual([1, 1, 1]);
    // It answers the ping sent on the timeout: back at once.
    expect(set.heard(0, 5)).toBe(true);
    expect(new Set(picks(set, 4))).toEqual(new Set([0, 1]));
    set.timedOut(0);
    set.timedOut(1);
    // Both suspect: the best of the rest, still round-robin.
    expect(new Set(picks(set, 4))).toEqual(new Set([0, 1]));
  });

  it('should take a broker silent for the liveness window for dead, and back as soon as it answers', () => {
    const set = new BrokerSet(['a', 'b'], 3000, 0);
    set.heard(0, 2000);
    set.heard(1, 2000);
    set.heard(1, 4000);
    set.tick(5001);
    expect([set.state(0), set.state(1)]).toEqual(['dead', 'alive']);
    expect(picks(set, 3)).toEqual([1, 1, 1]);
    expect(set.heard(0, 5100)).toBe(true);
    expect(set.state(0)).toBe('alive');
  });

  it('should retry elsewhere: avoid the broker the last attempt timed out on while another is as good', () => {
    const set = new BrokerSet(['a', 'b'], 3000, 0);
    expect(picks(set, 5, undefined, 0)).toEqual([1, 1, 1, 1, 1]);
    const alone = new BrokerSet(['a'], 3000, 0);
    expect(alone.pick(undefined, 0)).toBe(0);
  });

  it('should never pick a broker that said it has no worker for the call, and say when none is left to ask', () => {
    const set = new BrokerSet(['a', 'b', 'c'], 3000, 0);
    set.tick(4000);
    set.heard(0, 4000);
    set.heard(1, 4000);
    expect(set.usable(new Set([0]))).toBe(1);
    expect(picks(set, 2, new Set([0]))).toEqual([1, 1]);
    // c is dead: asking it is not worth a call's time, but it is still a last resort.
    expect(set.usable(new Set([0, 1]))).toBe(0);
    expect(set.pick(new Set([0, 1]))).toBe(2);
    expect(set.pick(new Set([0, 1, 2]))).toBeUndefined();
  });

  it('should take a broker whose connection closed for dead at once', () => {
    const set = new BrokerSet(['a', 'b'], 3000, 0);
    set.heard(0, 1);
    set.heard(1, 1);
    set.lost(0);
    expect(set.state(0)).toBe('dead');
    expect(picks(set, 3)).toEqual([1, 1, 1]);
    expect(set.heard(0, 2)).toBe(true);
  });

  it('should keep a draining broker as a last resort only', () => {
    const set = new BrokerSet(['a', 'b'], 3000, 0);
    set.heard(0, 1, true);
    set.heard(1, 1);
    expect(picks(set, 3)).toEqual([1, 1, 1]);
    expect(set.state(0)).toBe('draining');
  });
});
