/** What a worker's handler receives and may return. */
import { encodeRpcException } from '../../protocol/rpc.js';

export type ReplyBody = Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[];

export interface WorkerRequest {
  readonly service: string;
  /** The request's frames, opaque. */
  readonly body: readonly Buffer[];
  /** The first body frame as UTF-8 text. */
  text(): string;
  /** The first body frame parsed as JSON. */
  json<T = unknown>(): T;
}

export type Handler = (request: WorkerRequest) => ReplyBody | Promise<ReplyBody>;

export function toFrames(body: ReplyBody): Buffer[] {
  if (typeof body === 'string') return [Buffer.from(body)];
  if (Buffer.isBuffer(body)) return [body];
  if (body instanceof Uint8Array) return [Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
  return (body as readonly (Buffer | Uint8Array | string)[]).map((b) =>
    typeof b === 'string' ? Buffer.from(b) : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export function makeRequest(service: string, body: Buffer[]): WorkerRequest {
  return {
    service,
    body,
    text: () => (body[0] ?? Buffer.alloc(0)).toString('utf8'),
    json: <T>() => JSON.parse((body[0] ?? Buffer.alloc(0)).toString('utf8')) as T,
  };
}

/**
 * butler's convention for a failed call, which steward's client turns back
 * into a typed RemoteError: "500:exception:" + JSON {name, message, traceback}.
 */
export function exceptionReply(error: unknown): Buffer[] {
  return [encodeRpcException(error)];
}
