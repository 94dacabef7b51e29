/**
 * butler RPC through the broker, beside the raw MDP figure from the same run:
 * `client.call` to an echo handler, with the same request bytes, so the
 * difference is what RPC adds (JSON decode, dispatch, JSON encode, reply
 * decode). One process holds broker, workers and client, so every figure
 * shares the same cores; rounds are interleaved and medians reported.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/rpc.js [--quick] [--rounds N]
 */
import { pathToFileURL } from 'node:url';
import { Broker } from '../src/api/broker.js';
import { Client } from '../src/api/client.js';
import { Worker } from '../src/api/worker.js';
import { encodeRpcRequest } from '../src/protocol/rpc.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const IN_FLIGHT = 100;
const ARGS = ['a.png', '150x180'] as const;

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

export const suite: BenchSuite = {
  name: 'rpc',
  description: 'butler RPC calls per second through an in-process broker, sequential and 100 in flight, against raw MDP calls (client.call to an echo handler) in the same run',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const sequential = options.quick ? 300 : 3_000;
    const concurrent = options.quick ? 3_000 : 30_000;
    const broker = await Broker.start({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*' });
    const { frontend, backend } = await broker.endpoints();
    const raw = Worker.start({ broker: backend, service: 'bench.raw', concurrency: IN_FLIGHT, handler: (r) => r.body as Buffer[] });
    const rpc = Worker.start({ broker: backend, service: 'bench.rpc', concurrency: IN_FLIGHT, rpc: { resize_image: (name: string, size: string) => `${name}@${size}` } });
    const client = new Client({ broker: frontend, timeout: 30_000, retries: 0 });
    try {
      const body = [encodeRpcRequest('resize_image', [...ARGS])];
      const images = client.rpc<{ resize_image(name: string, size: string): string }>('bench.rpc');
      const callRaw = () => client.call('bench.raw', body);
      const callRpc = () => images.resize_image(...ARGS);
      // Both services registered and the code paths warm.
      await rate(500, IN_FLIGHT, callRaw);
      await rate(500, IN_FLIGHT, callRpc);
      const figures = { rawSeq: [] as number[], rpcSeq: [] as number[], rawConc: [] as number[], rpcConc: [] as number[] };
      for (let round = 0; round < options.rounds; round++) {
        figures.rawSeq.push(await rate(sequential, 1, callRaw));
        figures.rpcSeq.push(await rate(sequential, 1, callRpc));
        figures.rawConc.push(await rate(concurrent, IN_FLIGHT, callRaw));
        figures.rpcConc.push(await rate(concurrent, IN_FLIGHT, callRpc));
      }
      const row = (name: string, value: number[], baseline: string, baselineValue: number[], note: string): BenchRow => ({
        suite: 'rpc',
        name,
        value: Math.round(median(value)),
        unit: 'calls/s',
        better: 'higher',
        baseline,
        baselineValue: Math.round(median(baselineValue)),
        rounds: options.rounds,
        note,
      });
      return [
        row('rpc resize_image, one at a time', figures.rpcSeq, 'MDP client.call echo, one at a time', figures.rawSeq, `${sequential} calls per round`),
        row(
          `rpc resize_image, ${IN_FLIGHT} in flight`,
          figures.rpcConc,
          `MDP client.call echo, ${IN_FLIGHT} in flight`,
          figures.rawConc,
          `${concurrent} calls per round; worker concurrency ${IN_FLIGHT}`,
        ),
      ];
    } finally {
      client.close();
      await Promise.all([raw.stop(), rpc.stop()]);
      await broker.stop();
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
