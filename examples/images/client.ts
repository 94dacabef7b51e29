/**
 * Calls the api.images service the way butler's README does:
 *
 *   client = butler.Client('tcp://127.0.0.1:5555').rpc('api.images')
 *   client.resize_image('test.jpeg', '150x180')
 *
 * Start a broker and the worker first (from the repository, after `npm run build`):
 *
 *   node dist/main.js --role broker
 *   node dist/main.js --role worker --service api.images --root /tmp/steward-images
 *
 * then run this client (it draws its own sample image into the root):
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/examples/images/client.js /tmp/steward-images
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Client } from '../../src/api/client.js';
import { RemoteError } from '../../src/api/errors.js';

/** The remote API, for typed calls. */
export interface ImagesApi {
  resize_image(name: string, size: string): string;
  /** Streams: one value per picture as it is written (see invokeStream below), then { written, failed }. */
  resize_images(size: string, ...names: string[]): { written: string[]; failed: number };
  info(name: string): { name: string; format: string; width: number; height: number; bytes: number };
}

export interface ExampleOptions {
  /** The directory the worker serves (its --root). */
  readonly root: string;
  /** The broker frontend. */
  readonly broker?: string;
  readonly out?: NodeJS.WritableStream;
}

/** A 400x300 sample picture, so the example needs no image of yours. */
async function drawSample(path: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">
    <defs><linearGradient id="g"><stop offset="0" stop-color="#1d3557"/><stop offset="1" stop-color="#e63946"/></linearGradient></defs>
    <rect width="400" height="300" fill="url(#g)"/><circle cx="200" cy="150" r="80" fill="#f1faee"/></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toFile(path);
}

export async function main(options: ExampleOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  mkdirSync(options.root, { recursive: true });
  await drawSample(join(options.root, 'sample.jpeg'));

  const client = new Client({ broker: options.broker ?? 'tcp://127.0.0.1:5555', timeout: 2500, retries: 2 });
  try {
    out.write(`mmi.api.images: ${await client.send('mmi.api.images')}\n`);
    const images = client.rpc<ImagesApi>('api.images');
    const before = await images.info('sample.jpeg');
    out.write(`sample.jpeg is ${before.format} ${before.width}x${before.height}\n`);
    const resized = await images.resize_image('sample.jpeg', '150x180');
    const after = await images.info(resized);
    out.write(`resized to ${resized}: ${after.format} ${after.width}x${after.height}\n`);
    try {
      await images.resize_image('missing.jpeg', '150x180');
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      out.write(`remote ${error.remoteName}: ${error.message}\n`);
    }
    // A streamed call: one partial reply per picture as the worker writes it, then what was written.
    // Breaking out of the loop, or the signal, would stop the worker between pictures.
    const signal = AbortSignal.timeout(30_000);
    for await (const part of client.invokeStream('api.images', 'resize_images', ['64x48', 'sample.jpeg', 'missing.jpeg', resized], {}, { signal })) {
      out.write(`${part.final ? 'final' : 'partial'}: ${JSON.stringify(part.value)}\n`);
    }
  } finally {
    client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root = '/tmp/steward-images', broker] = process.argv.slice(2);
  await main({ root, ...(broker !== undefined ? { broker } : {}) });
}
