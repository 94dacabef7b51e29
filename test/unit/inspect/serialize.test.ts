import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { toJsonSafe } from '../../../src/actors/inspect/serialize.js';

describe('toJsonSafe', () => {
  it('should show Maps as objects and Sets as arrays', () => {
    const value = { m: new Map<unknown, unknown>([['a', 1], [2, 'two']]), s: new Set(['x', 'y']) };
    expect(toJsonSafe(value)).toEqual({ m: { a: 1, '2': 'two' }, s: ['x', 'y'] });
  });

  it('should show Buffers as their length and a short hex preview, never their whole content', () => {
    const out = toJsonSafe({ body: Buffer.alloc(1_000_000, 0xab) }, { maxBytes: 4 }) as { body: string };
    expect(out.body).toBe('<1000000 bytes abababab\u2026>');
  });

  it('should use toJSON of class instances, and name other classes', () => {
    class Core {
      private readonly table = new Map([[1, 2]]);
      toJSON() {
        return { workers: this.table.size };
      }
    }
    class Plain {
      readonly n = 1;
    }
    expect(toJsonSafe({ core: new Core(), plain: new Plain() })).toEqual({ core: { workers: 1 }, plain: { $class: 'Plain', n: 1 } });
  });

  it('should mark cycles and still show shared references twice', () => {
    const shared = { v: 1 };
    const a: Record<string, unknown> = { shared, again: shared };
    a['self'] = a;
    expect(toJsonSafe(a)).toEqual({ shared: { v: 1 }, again: { v: 1 }, self: '[Circular]' });
  });

  it('should summarize below the depth limit', () => {
    const deep = { a: { b: { c: { d: [1, 2, 3] } } } };
    expect(toJsonSafe(deep, { maxDepth: 3 })).toEqual({ a: { b: { c: '[Object]' } } });
  });

  it('should cut long strings, long arrays and wide objects, saying how much is left', () => {
    const wide = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
    const out = toJsonSafe({ s: 'x'.repeat(50), list: Array.from({ length: 10 }, (_, i) => i), wide }, { maxString: 5, maxItems: 3, maxKeys: 3 });
    expect(out).toEqual({
      s: 'xxxxx\u2026(+45 chars)',
      list: [0, 1, 2, '\u2026 7 more'],
      wide: { k0: 0, k1: 1, k2: 2, '\u2026': '7 more' },
    });
  });

  it('should stay within the node budget however big the value is', () => {
    const huge = Array.from({ length: 10_000 }, (_, i) => ({ i, nested: { list: [i, i, i] } }));
    const out = toJsonSafe(huge, { maxItems: 100_000, maxNodes: 500 });
    expect(JSON.stringify(out).length).toBeLessThan(20_000);
  });

  it('should name actors and machine logic instead of walking into them', () => {
    const machine = createMachine({ id: 'm', initial: 'a', states: { a: {} } });
    const actor = createActor(machine, { id: 'child' });
    expect(toJsonSafe({ ref: actor, logic: machine })).toEqual({ ref: '[Actor child]', logic: '[Logic m]' });
  });

  it('should never throw: throwing getters and toJSON, bigint, symbols, functions, errors, dates', () => {
    const nasty = {
      get boom(): never {
        throw new Error('no');
      },
      bad: { toJSON: () => { throw new Error('nope'); } },
      big: 10n,
      sym: Symbol('s'),
      fn: function named() {},
      err: Object.assign(new Error('lost'), { code: 'EPIPE' }),
      when: new Date(0),
      nan: Number.NaN,
      missing: undefined,
    };
    expect(toJsonSafe(nasty)).toEqual({
      boom: '[getter threw: no]',
      bad: '[toJSON threw: nope]',
      big: '10n',
      sym: 'Symbol(s)',
      fn: '[Function named]',
      err: { $error: 'Error', message: 'lost', code: 'EPIPE' },
      when: '1970-01-01T00:00:00.000Z',
      nan: 'NaN',
    });
  });
});
