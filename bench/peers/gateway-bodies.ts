/**
 * What every backend of the front-door benchmarks answers, so the rows
 * compare the same bytes: a small body, and the pieces of the 64 KiB
 * chunked response (bench/gateway.ts).
 */
export const BODY = Buffer.from('hello from node\n');
export const CHUNK = Buffer.alloc(16 * 1024, 'x');
export const CHUNKS = 4;
/** The request body of the upload rows. */
export const UPLOAD_BYTES = 1024 * 1024;
