import { describe, expect, it } from 'vitest';
import { RpcMethods } from '../../../src/api/rpc-methods.js';
import { makeRequest } from '../../../src/machines/worker/worker-call.js';
import { encodeRpcRequest } from '../../../src/protocol/rpc.js';

async function call(methods: RpcMethods, body: Buffer | string): Promise<string> {
  const handler = methods.handler();
  const reply = await handler(makeRequest('svc', [Buffer.from(body)]));
  return (reply as Buffer[]).map(String).join('|');
}
const req = (method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) => encodeRpcRequest(method, args, kwargs);

class Images {
  calls = 0;
  resize_image(name: string, size: string) {
    this.calls += 1;
    return `${name} -> ${size}`;
  }
  async info(name: string) {
    return { name, format: 'png' };
  }
  timeout() {
    return 'reserved';
  }
  close() {
    return 'reserved';
  }
  _secret() {
    return 'private';
  }
  get computed() {
    throw new Error('getters are never read');
  }
}

describe('RPC method table (worker side, no sockets)', () => {
  it('should call a registered function, under its own name or another', async () => {
    function add(a: number, b: number) {
      return a + b;
    }
    const r = new RpcMethods().registerFunction(add).registerFunction(add, 'plus');
    expect(await call(r, req('add', [1, 2]))).toBe('3');
    expect(await call(r, req('plus', [2, 3]))).toBe('5');
  });

  it('should make an object\'s methods callable, bound to it, own and prototype, skipping reserved and private names and getters', async () => {
    const images = new Images();
    const r = new RpcMethods().register(images);
    expect(r.names()).toEqual(['info', 'resize_image']);
    expect(await call(r, req('resize_image', ['a.png', '150x180']))).toBe('"a.png -> 150x180"');
    expect(images.calls).toBe(1);
    expect(await call(r, req('info', ['a.png']))).toBe('{"name":"a.png","format":"png"}');
    for (const name of ['timeout', 'close', '_secret', 'computed', 'constructor', 'toString', '__proto__']) {
      expect(await call(r, req(name))).toBe('404');
    }
    const plain = new RpcMethods().register({ double: (x: number) => x * 2 });
    expect(await call(plain, req('double', [21]))).toBe('42');
  });

  it('should refuse to register the reserved names and anonymous functions', () => {
    expect(() => new RpcMethods().registerFunction(() => 1, 'close')).toThrow(/reserved/);
    expect(() => new RpcMethods().registerFunction(() => 1, '')).toThrow(/needs a name/);
  });

  it('should answer "404" for an unknown method', async () => {
    expect(await call(new RpcMethods(), req('nope'))).toBe('404');
  });

  it('should answer "500:exception:" with name, message and traceback when the method throws or rejects', async () => {
    const r = new RpcMethods()
      .registerFunction(() => {
        throw new RangeError('too big');
      }, 'sync')
      .registerFunction(async () => Promise.reject(new TypeError('bad type')), 'async');
    const sync = JSON.parse((await call(r, req('sync'))).slice('500:exception:'.length)) as Record<string, string>;
    expect(sync).toMatchObject({ name: 'RangeError', message: 'too big' });
    expect(sync['traceback']).toContain('RangeError: too big');
    expect(await call(r, req('async'))).toMatch(/^500:exception:\{"name":"TypeError","message":"bad type"/);
  });

  it('should pass kwargs as one trailing object, and nothing when there are none', async () => {
    const r = new RpcMethods().registerFunction((...args: unknown[]) => args, 'args');
    expect(await call(r, req('args', [1], { width: 2 }))).toBe('[1,{"width":2}]');
    expect(await call(r, req('args', [1]))).toBe('[1]');
  });

  it('should answer a body that is not an RPC request with a BadRequestError', async () => {
    const r = new RpcMethods().registerFunction(() => 1, 'one');
    expect(await call(r, 'resize please')).toMatch(/^500:exception:\{"name":"BadRequestError","message":"request body is not acceptable JSON/);
    expect(await call(r, `{"method":"one","args":${'['.repeat(100)}${']'.repeat(100)}}`)).toMatch(/BadRequestError.*too_deep/);
  });

  it('should answer a result with no JSON form with a ResultError', async () => {
    const r = new RpcMethods().registerFunction(() => 10n, 'big');
    expect(await call(r, req('big'))).toMatch(/^500:exception:\{"name":"ResultError","message":"big returned a value with no JSON form"/);
  });
});
