/**
 * butler RPC through the broker, two ways:
 *
 * - the real `api.images` service (`ImagesService`, sharp) resizing a
 *   640x480 PNG to 150x180 over RPC, beside the same `resize_image` called
 *   in this process without RPC: what RPC adds to real work;
 * - an RPC call of a two-argument string function, beside a raw MDP
 *   `client.call` to an echo handler with the same request bytes: what RPC
 *   adds to a call that does nothing (JSON decode, dispatch, JSON encode,
 *   reply decode).
 *
 * One process holds broker, workers and client, so every figure shares the
 * same cores; subject and baseline alternate within each round, the order
 * reversed every other round, and medians are reported.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/rpc.js [--quick] [--rounds N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Broker } from '../src/api/broker.js';
import { Client } from '../src/api/client.js';
import { Worker } from '../src/api/worker.js';
import { encodeRpcRequest } from '../src/protocol/rpc.js';
import { ImagesService } from '../src/handlers/images.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const IN_FLIGHT = 100;
/** Resizes at once: sharp runs each on libuv's thread pool (4 threads by default). */
const IMAGES_IN_FLIGHT = 4;
const ARGS = ['a.png', '150x180'] as const;
const IMAGE = 'photo.png';
const SIZE = '150x180';

/** Calls per second of `total` calls, at most `width` in flight. */
async function rate(total: number, width: number, one: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(width, total) }, async () => {
      while (started < total) {
        started += 1;
        await one();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return total / seconds;
}

/** A figure and its baseline, measured in turns, the order reversed every other round. */
async function pair(rounds: number, subject: () => Promise<number>, baseline: () => Promise<number>): Promise<{ value: number[]; base: number[] }> {
  const value: number[] = [];
  const base: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      value.push(await subject());
      base.push(await baseline());
    } else {
      base.push(await baseline());
      value.push(await subject());
    }
  }
  return { value, base };
}

interface ImagesApi {
  resize_image(name: string, size: string): string;
}

export const suite: BenchSuite = {
  name: 'rpc',
  description:
    'butler RPC through an in-process broker: the real api.images resize (sharp) against the same resize without RPC, and a string-function call against a raw MDP echo call',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const sequential = options.quick ? 300 : 3_000;
    const concurrent = options.quick ? 3_000 : 30_000;
    const resizes = options.quick ? 20 : 150;
    const root = await mkdtemp(join(tmpdir(), 'steward-bench-rpc-'));
    // Noise, so the PNG decodes and encodes like a photo rather than a flat colour.
    await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .png()
      .toFile(join(root, IMAGE));
    const images = new ImagesService({ root });
    const broker = await Broker.start({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*' });
    const { frontend, backend } = await broker.endpoints();
    const raw = Worker.start({ broker: backend, service: 'bench.raw', concurrency: IN_FLIGHT, handler: (r) => r.body as Buffer[] });
    const joinWorker = Worker.start({ broker: backend, service: 'bench.join', concurrency: IN_FLIGHT, rpc: { join: (name: string, size: string) => `${name}@${size}` } });
    const imagesWorker = Worker.start({ broker: backend, service: 'api.images', concurrency: IMAGES_IN_FLIGHT, rpc: new ImagesService({ root }) });
    const client = new Client({ broker: frontend, timeout: 30_000, retries: 0 });
    try {
      // The broker answers "no worker" at once for a service nobody has registered yet.
      await Promise.all([raw.registered(), joinWorker.registered(), imagesWorker.registered()]);
      const body = [encodeRpcRequest('join', [...ARGS])];
      const joiner = client.rpc<{ join(name: string, size: string): string }>('bench.join');
      const remoteImages = client.rpc<ImagesApi>('api.images');
      const callRaw = () => client.call('bench.raw', body);
      const callJoin = () => joiner.join(...ARGS);
      const resizeRemote = () => remoteImages.resize_image(IMAGE, SIZE);
      const resizeHere = () => images.resize_image(IMAGE, SIZE);
      // The code paths warm.
      await rate(500, IN_FLIGHT, callRaw);
      await rate(500, IN_FLIGHT, callJoin);
      await rate(20, IMAGES_IN_FLIGHT, resizeRemote);
      await rate(20, IMAGES_IN_FLIGHT, resizeHere);
      const imagesSeq = await pair(options.rounds, () => rate(resizes, 1, resizeRemote), () => rate(resizes, 1, resizeHere));
      const imagesConc = await pair(options.rounds, () => rate(resizes * 2, IMAGES_IN_FLIGHT, resizeRemote), () => rate(resizes * 2, IMAGES_IN_FLIGHT, resizeHere));
      const joinSeq = await pair(options.rounds, () => rate(sequential, 1, callJoin), () => rate(sequential, 1, callRaw));
      const joinConc = await pair(options.rounds, () => rate(concurrent, IN_FLIGHT, callJoin), () => rate(concurrent, IN_FLIGHT, callRaw));
      const row = (name: string, figures: { value: number[]; base: number[] }, baseline: string, note: string): BenchRow => ({
        suite: 'rpc',
        name,
        value: Math.round(median(figures.value)),
        unit: 'calls/s',
        better: 'higher',
        baseline,
        baselineValue: Math.round(median(figures.base)),
        rounds: options.rounds,
        note,
      });
      const resize = `resize_image of a 640x480 PNG to ${SIZE} (sharp)`;
      return [
        row(`rpc api.images ${resize}, one at a time`, imagesSeq, 'ImagesService.resize_image in process, no RPC, one at a time', `${resizes} calls per round`),
        row(
          `rpc api.images ${resize}, ${IMAGES_IN_FLIGHT} in flight`,
          imagesConc,
          `ImagesService.resize_image in process, no RPC, ${IMAGES_IN_FLIGHT} at once`,
          `${resizes * 2} calls per round; worker concurrency ${IMAGES_IN_FLIGHT}`,
        ),
        row('rpc call of a two-argument string function, one at a time', joinSeq, 'MDP client.call echo, same request bytes, one at a time', `${sequential} calls per round`),
        row(
          `rpc call of a two-argument string function, ${IN_FLIGHT} in flight`,
          joinConc,
          `MDP client.call echo, same request bytes, ${IN_FLIGHT} in flight`,
          `${concurrent} calls per round; worker concurrency ${IN_FLIGHT}`,
        ),
      ];
    } finally {
      client.close();
      await Promise.all([raw.stop(), joinWorker.stop(), imagesWorker.stop()]);
      await broker.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : quick ? 3 : 5;
  const rows = await suite.run({ rounds, quick });
  for (const r of rows) {
    const ratio = r.baselineValue ? (r.value / r.baselineValue).toFixed(2) : '-';
    process.stdout.write(`${r.name}: ${r.value} ${r.unit} | ${r.baseline}: ${r.baselineValue} ${r.unit} | ratio ${ratio} | ${r.note ?? ''}\n`);
  }
}
