/**
 * The worker handler of the streams bench (`--role worker --handler
 * dist-bench/bench/peers/stream-parts.js`): to a caller that takes partial
 * replies, N parts of 1 KiB (N is the request's text, default 1000) from an
 * async generator, then "done"; to a caller that takes one reply, one 1 KiB
 * reply. The same bytes per reply either way.
 */
import type { WorkerRequest } from '../../src/api/worker.js';

const PART = Buffer.alloc(1024, 0x61);

async function* parts(n: number): AsyncGenerator<Buffer, string, undefined> {
  for (let i = 0; i < n; i++) yield PART;
  return 'done';
}

export default function handler(request: WorkerRequest): Buffer | AsyncGenerator<Buffer, string, undefined> {
  return request.stream ? parts(Number.parseInt(request.text(), 10) || 1000) : PART;
}
