/**
 * butler's RPC payload (docs/butler.md "2. RPC payload"), carried in the one body frame of a
 * request and of its reply:
 *
 *   request:  {"method": "name", "args": [...], "kwargs": {...}}
 *   reply:    the result as JSON text
 *             "404"                                        no such method
 *             "500:exception:" + {"name","message","traceback"}   the method threw
 *
 * Pure: both the worker's dispatcher and the client's proxy use it.
 */
import { isJsonObject, parseJson, type JsonLimits, type JsonObject, type JsonValue } from './json.js';

export const RPC_NOT_FOUND = '404';
export const RPC_EXCEPTION_PREFIX = '500:exception:';
export const MAX_METHOD_LENGTH = 256;
/** A traceback longer than this is cut: it is for a person to read, not a payload. */
export const MAX_TRACEBACK_LENGTH = 16 * 1024;

export interface RpcRequest {
  readonly method: string;
  readonly args: readonly JsonValue[];
  readonly kwargs: Readonly<JsonObject>;
}

export type RpcRequestDecoded = ({ readonly type: 'rpc.request' } & RpcRequest) | { readonly type: 'rpc.bad_request'; readonly message: string };

export interface RemoteException {
  readonly name: string;
  readonly message: string;
  readonly traceback: string;
}

export type RpcReply =
  | { readonly type: 'rpc.result'; readonly value: JsonValue }
  | { readonly type: 'rpc.not_found' }
  | { readonly type: 'rpc.exception'; readonly exception: RemoteException }
  | { readonly type: 'rpc.invalid'; readonly message: string };

export function encodeRpcRequest(method: string, args: readonly unknown[] = [], kwargs: Readonly<Record<string, unknown>> = {}): Buffer {
  return Buffer.from(JSON.stringify({ method, args, kwargs }));
}

export function decodeRpcRequest(body: readonly Buffer[], limits: JsonLimits): RpcRequestDecoded {
  const bad = (message: string): RpcRequestDecoded => ({ type: 'rpc.bad_request', message });
  if (body.length !== 1) return bad(`an RPC request is one JSON frame, got ${body.length}`);
  const parsed = parseJson(body[0] as Buffer, limits);
  if (!parsed.ok) return bad(`request body is not acceptable JSON (${parsed.reason}: ${parsed.detail})`);
  const doc = parsed.value;
  if (!isJsonObject(doc)) return bad('request body must be a JSON object {"method", "args", "kwargs"}');
  const { method, args = [], kwargs = {} } = doc;
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
    return bad(`"method" must be a name of 1 to ${MAX_METHOD_LENGTH} characters`);
  }
  if (!Array.isArray(args)) return bad('"args" must be an array');
  if (!isJsonObject(kwargs)) return bad('"kwargs" must be an object');
  return { type: 'rpc.request', method, args, kwargs };
}

/**
 * A result as JSON text, or undefined when it has no JSON form (BigInt,
 * cycles). `undefined` becomes null. The number 404 would read as "no such
 * method", so it is written 4.04e2, which parses to the same number.
 */
export function encodeRpcResult(value: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch {
    return undefined;
  }
  if (text === undefined) return 'null'; // a function or symbol
  return text === RPC_NOT_FOUND ? '4.04e2' : text;
}

export function encodeRpcException(error: unknown): Buffer {
  const e = error instanceof Error ? error : new Error(typeof error === 'string' ? error : safeString(error));
  const exception: RemoteException = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : safeString(e.message),
    traceback: (typeof e.stack === 'string' ? e.stack : '').slice(0, MAX_TRACEBACK_LENGTH),
  };
  return Buffer.from(RPC_EXCEPTION_PREFIX + JSON.stringify(exception));
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'unprintable error';
  }
}

/**
 * Reads a reply body. Text that is not JSON is taken as a string result:
 * butler workers replied raw strings, and a butler client reads them so too.
 */
export function decodeRpcReply(body: readonly Buffer[], limits: JsonLimits): RpcReply {
  const frame = body[0];
  if (frame === undefined) return { type: 'rpc.invalid', message: 'empty reply' };
  if (frame.length === RPC_NOT_FOUND.length && frame.toString('latin1') === RPC_NOT_FOUND) return { type: 'rpc.not_found' };
  if (frame.length > limits.maxBytes) return { type: 'rpc.invalid', message: `reply of ${frame.length} bytes > ${limits.maxBytes}` };
  const text = frame.toString('utf8');
  if (text.startsWith(RPC_EXCEPTION_PREFIX)) return { type: 'rpc.exception', exception: readException(text.slice(RPC_EXCEPTION_PREFIX.length), limits) };
  const parsed = parseJson(frame, limits);
  if (parsed.ok) return { type: 'rpc.result', value: parsed.value };
  if (parsed.reason === 'malformed') return { type: 'rpc.result', value: text };
  return { type: 'rpc.invalid', message: `reply is not acceptable JSON (${parsed.reason}: ${parsed.detail})` };
}

/** butler's original sent a pickle after the prefix; anything unreadable is kept as the message. */
function readException(payload: string, limits: JsonLimits): RemoteException {
  const parsed = parseJson(payload, limits);
  if (parsed.ok && isJsonObject(parsed.value)) {
    const { name, message, traceback } = parsed.value;
    return {
      name: typeof name === 'string' && name.length > 0 ? name : 'Error',
      message: typeof message === 'string' ? message : JSON.stringify(message ?? ''),
      traceback: typeof traceback === 'string' ? traceback : '',
    };
  }
  return { name: 'Error', message: payload, traceback: '' };
}
