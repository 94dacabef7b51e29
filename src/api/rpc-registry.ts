/**
 * The worker side of butler's RPC: named functions, a request body in, a
 * reply body out. No sockets and no machines; a `Worker` runs `handler()`
 * for each request, as many at once as its `concurrency`.
 *
 * A method that is an async generator streams: each value it yields is one
 * partial reply (JSON, as a result is), and what it returns is the final
 * result (docs/wires.md). A caller that takes one reply gets the final result.
 */
import { isReplyStream, type Handler } from '../machines/worker/request.js';
import { DEFAULT_JSON_LIMITS, type JsonLimits } from '../protocol/json.js';
import { RPC_NOT_FOUND, decodeRpcRequest, encodeRpcException, encodeRpcResult, type RpcRequest } from '../protocol/rpc.js';

/** Any function; arguments arrive as JSON values, so nothing more precise holds at the wire. */
export type RpcFunction = (...args: never[]) => unknown;

/** butler's reserved names: they belong to the worker object, never to the remote caller. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['timeout', 'close']);

/** A call that could not be read as `{"method", "args", "kwargs"}`; reaches the client as a RemoteError. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** Request bodies are bounded by the JSON limits; results by `maxResultBytes`. */
export interface RpcLimits extends JsonLimits {
  readonly maxResultBytes: number;
}

export const DEFAULT_RPC_LIMITS: RpcLimits = { ...DEFAULT_JSON_LIMITS, maxResultBytes: 8 * 1024 * 1024 };

/** A result with no JSON form (a BigInt, a cycle) or larger than the limit. */
export class ResultError extends Error {
  override readonly name = 'ResultError';
}

interface Entry {
  readonly fn: RpcFunction;
  readonly self: unknown;
}

const NOT_FOUND_FRAME = Buffer.from(RPC_NOT_FOUND);

export class RpcRegistry {
  private readonly methods = new Map<string, Entry>();

  /** Makes `fn` callable as `name` (default: the function's own name). */
  registerFunction(fn: RpcFunction, name: string = fn.name): this {
    if (typeof fn !== 'function') throw new TypeError('registerFunction expects a function');
    if (name.length === 0) throw new TypeError('an anonymous function needs a name: registerFunction(fn, "name")');
    if (RESERVED_NAMES.has(name)) throw new TypeError(`"${name}" is reserved (${[...RESERVED_NAMES].join(', ')})`);
    this.methods.set(name, { fn, self: undefined });
    return this;
  }

  /**
   * Makes every method of `object` callable: its own and its prototypes'
   * (class methods), bound to it. Skipped: `constructor`, names starting with
   * `_` (private by convention), the reserved `timeout` and `close`, getters.
   * TypeScript's `private` does not exist at run time: keep helpers a client
   * must not call in `#private` methods or name them with a leading `_`.
   */
  register(object: object): this {
    const seen = new Set<string>();
    for (let o: object | null = object; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const name of Object.getOwnPropertyNames(o)) {
        if (seen.has(name)) continue;
        seen.add(name);
        if (name === 'constructor' || name.startsWith('_') || RESERVED_NAMES.has(name)) continue;
        const descriptor = Object.getOwnPropertyDescriptor(o, name);
        // Only plain function values: reading a getter would run user code at registration.
        if (descriptor && typeof descriptor.value === 'function') this.methods.set(name, { fn: descriptor.value as RpcFunction, self: object });
      }
    }
    return this;
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  /**
   * Runs one call. Keyword arguments, when there are any, arrive as one
   * trailing object after the positional ones (JavaScript has no keywords).
   */
  async invoke(request: RpcRequest): Promise<unknown> {
    const entry = this.methods.get(request.method);
    if (!entry) throw new RangeError(`no such method: ${request.method}`);
    const args: unknown[] = Object.keys(request.kwargs).length > 0 ? [...request.args, request.kwargs] : [...request.args];
    return await (entry.fn as (...a: unknown[]) => unknown).apply(entry.self, args);
  }

  /** The worker handler: body in, "404", "500:exception:..." or the JSON result out. */
  handler(limits: RpcLimits = DEFAULT_RPC_LIMITS): Handler {
    return async (request) => {
      const decoded = decodeRpcRequest(request.body, limits);
      if (decoded.type === 'rpc.bad_request') return [encodeRpcException(new BadRequestError(decoded.message))];
      if (!this.methods.has(decoded.method)) return [NOT_FOUND_FRAME];
      let result: unknown;
      try {
        result = await this.invoke(decoded);
      } catch (error) {
        return [encodeRpcException(error)];
      }
      if (isReplyStream(result)) return streamResults(decoded.method, result as AsyncIterable<unknown>, limits);
      return [encodeResult(decoded.method, result, limits, 'returned').frame];
    };
  }
}

/** A result as its JSON frame, or (`ok` false) a ResultError exception frame when it has no JSON form or is too large. */
function encodeResult(method: string, result: unknown, limits: RpcLimits, verb: 'returned' | 'yielded'): { frame: Buffer; ok: boolean } {
  const text = encodeRpcResult(result);
  if (text === undefined) return { frame: encodeRpcException(new ResultError(`${method} ${verb} a value with no JSON form`)), ok: false };
  const frame = Buffer.from(text);
  if (frame.length > limits.maxResultBytes) {
    return { frame: encodeRpcException(new ResultError(`${method} ${verb} ${frame.length} bytes of JSON, more than ${limits.maxResultBytes}`)), ok: false };
  }
  return { frame, ok: true };
}

/**
 * A streaming method's values as partial replies, its return value as the
 * final one; a throw, or a value that cannot be sent, ends the stream with
 * the exception. Returning this generator early (the caller cancelled)
 * returns the method's own, so its `finally` blocks run.
 */
async function* streamResults(method: string, values: AsyncIterable<unknown>, limits: RpcLimits): AsyncGenerator<Buffer[], Buffer[], undefined> {
  const it = values[Symbol.asyncIterator]();
  let over = false;
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await it.next();
      } catch (error) {
        over = true;
        return [encodeRpcException(error)];
      }
      if (step.done === true) {
        over = true;
        return [encodeResult(method, step.value, limits, 'returned').frame];
      }
      const part = encodeResult(method, step.value, limits, 'yielded');
      if (!part.ok) return [part.frame];
      yield [part.frame];
    }
  } finally {
    if (!over) await it.return?.();
  }
}
