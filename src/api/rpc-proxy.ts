/**
 * The client side of butler's RPC as a Proxy: `proxy.resize_image(a, b)`
 * calls the remote method `resize_image` with `[a, b]` and resolves with its
 * result. Typed with the service's interface when one is given:
 * `client.rpc<ImagesApi>('api.images')`.
 */

/** Any method of any service: JSON-able arguments in, a promise of the result out. */
export type UntypedService = Record<string, (...args: unknown[]) => unknown>;

/** The methods of `T`, each returning a promise of its (awaited) result. */
export type RpcProxy<T = UntypedService> = {
  readonly [K in keyof T as K extends string ? (T[K] extends (...args: never[]) => unknown ? K : never) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/**
 * Names the proxy never turns into remote calls, so that `await proxy`,
 * `JSON.stringify(proxy)` and string conversion behave; call such a method
 * with `client.invoke(service, name, args)`.
 */
export const NOT_REMOTE: ReadonlySet<string> = new Set(['then', 'catch', 'finally', 'toJSON', 'toString', 'valueOf', 'constructor']);

export type Invoke = (method: string, args: unknown[]) => Promise<unknown>;

export function rpcProxy<T = UntypedService>(invoke: Invoke): RpcProxy<T> {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const target = Object.create(null) as object;
  return new Proxy(target, {
    get(_target, property) {
      if (typeof property !== 'string' || NOT_REMOTE.has(property)) return undefined;
      let method = methods.get(property);
      if (!method) {
        method = (...args: unknown[]) => invoke(property, args);
        methods.set(property, method);
      }
      return method;
    },
    // The proxy is a view of a remote object: nothing can be written to it.
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  }) as RpcProxy<T>;
}
