import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../src/metrics/log-limiter.js';

describe('log limiter', () => {
  it('should let the first event of a key through and hold back its repeats within the interval', () => {
    let t = 0;
    const limiter = new LogLimiter({ intervalMs: 1_000, now: () => t });
    expect(limiter.admit('a')).toEqual({ suppressed: 0, unlogged: 0 });
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('b')).toEqual({ suppressed: 0, unlogged: 0 });
    t = 999;
    expect(limiter.admit('a')).toBeUndefined();
    t = 1_000;
    expect(limiter.admit('a')).toEqual({ suppressed: 3, unlogged: 0 });
    expect(limiter.admit('a')).toBeUndefined();
  });

  it('should cap lines per interval across keys and report the events it left unlogged on the next line', () => {
    let t = 0;
    const limiter = new LogLimiter({ intervalMs: 1_000, now: () => t, maxLinesPerInterval: 2 });
    expect(limiter.admit('a')).toBeDefined();
    expect(limiter.admit('b')).toBeDefined();
    expect(limiter.admit('c')).toBeUndefined();
    expect(limiter.admit('d')).toBeUndefined();
    t = 1_000;
    expect(limiter.admit('e')).toEqual({ suppressed: 0, unlogged: 2 });
  });

  it('should forget the keys it remembers when a new key would pass maxKeys', () => {
    const limiter = new LogLimiter({ intervalMs: 1_000, now: () => 0, maxKeys: 2 });
    limiter.admit('a');
    limiter.admit('b');
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('c')).toBeDefined();
    // 'a' was forgotten with the others, so it is let through again at once.
    expect(limiter.admit('a')).toEqual({ suppressed: 0, unlogged: 0 });
  });
});
