import { describe, expect, expectTypeOf, it } from 'vitest';
import { rpcProxy, type RpcProxy } from '../../../src/api/rpc-proxy.js';

interface Images {
  resize_image(name: string, size: string): string;
  info(name: string): Promise<{ format: string; width: number; height: number }>;
  version: string;
}

describe('RPC proxy (client side, no sockets)', () => {
  it('should turn a method call into an invocation with the method name and the arguments', async () => {
    const seen: Array<[string, unknown[]]> = [];
    const proxy = rpcProxy((method, args) => {
      seen.push([method, args]);
      return Promise.resolve(`${method}(${args.join(',')})`);
    });
    expect(await proxy['resize_image']!('a.png', '150x180')).toBe('resize_image(a.png,150x180)');
    expect(seen).toEqual([['resize_image', ['a.png', '150x180']]]);
  });

  it('should not be a thenable, so it can be awaited and returned from async functions', async () => {
    const proxy = rpcProxy(() => Promise.reject(new Error('never called')));
    const same = await Promise.resolve(proxy);
    expect(same).toBe(proxy);
    expect(JSON.stringify({ proxy })).toBe('{"proxy":{}}');
  });

  it('should refuse writes', () => {
    const proxy = rpcProxy(() => Promise.resolve(1)) as unknown as Record<string, unknown>;
    expect(() => {
      'use strict';
      proxy['x'] = 1;
    }).toThrow(TypeError);
  });

  it('should type methods from the service interface as promises, and leave out its fields', () => {
    const proxy = rpcProxy<Images>(() => Promise.resolve(undefined));
    expectTypeOf(proxy.resize_image).toEqualTypeOf<(name: string, size: string) => Promise<string>>();
    expectTypeOf(proxy.info).returns.toEqualTypeOf<Promise<{ format: string; width: number; height: number }>>();
    // @ts-expect-error fields are not remote methods
    void proxy.version;
    expectTypeOf<RpcProxy>().toHaveProperty('anything');
  });
});
