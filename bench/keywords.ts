/**
 * Keyword services: reads per second through the client library and a real
 * dispatcher, and broadcast fan-out to 100 subscribers, each beside the bare
 * ZeroMQ pattern it rides on, measured in the same process and run:
 *
 *   keyword reads           vs  a raw DEALER -> ROUTER echo (same frames in flight)
 *   broadcast fan-out       vs  a raw PUB -> 100 SUB fan-out (same frame layout)
 *
 * Everything runs in this one Node process on 127.0.0.1 (dispatcher, clients,
 * subscribers), as does each baseline, so the ratio is what steward's
 * codecs, machines and actors cost on top of the socket pattern.
 */
import { pathToFileURL } from 'node:url';
import * as zmq from 'zeromq';
import { Dispatcher } from '../src/api/dispatcher.js';
import { KeywordClient, type Keyword } from '../src/api/keywords/index.js';
import { parseKeywordsFile } from '../src/config/keywords-file.js';
import { broadcastFrames, broadcastTopic } from '../src/protocol/keywords.js';
import { median, type BenchOptions, type BenchRow, type BenchSuite } from './types.js';

const ANY = 'tcp://127.0.0.1:*';
const SUBSCRIBERS = 100;

const definitions = parseKeywordsFile(
  { keywords: [{ name: 'TEMP', type: 'double', initial: 20.5 }, { name: 'COUNT', type: 'integer', initial: 0 }] },
  'bench',
);

async function startDispatcher(): Promise<Dispatcher> {
  return Dispatcher.start({ service: 'bench', keywords: definitions, direct: { dispatch: ANY, broadcast: ANY } });
}

/** `total` reads, `inFlight` at a time; reads per second. */
async function keywordReads(keyword: Keyword, total: number, inFlight: number): Promise<number> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    while (started < total) {
      started += 1;
      await keyword.read();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The same request/reply frames through a bare ROUTER that echoes them. */
async function rawEcho(total: number, inFlight: number): Promise<number> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind(ANY);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  let serving = true;
  void (async () => {
    try {
      // Echo in bursts, as the adapter reads them: one send per message, one writer.
      for await (const frames of router) {
        if (!serving) break;
        await router.send(frames);
      }
    } catch {
      // closed
    }
  })();
  const request = [Buffer.alloc(0), Buffer.from('KWP1'), Buffer.from('id1'), Buffer.from('update'), Buffer.from('bench'), Buffer.from('TEMP')];
  let sent = 0;
  let received = 0;
  let wake: (() => void) | undefined;
  const t0 = process.hrtime.bigint();
  // Closed loop: at most `inFlight` unanswered; the writer sleeps until a reply frees a slot.
  const writer = (async () => {
    while (sent < total) {
      if (sent - received >= inFlight) await new Promise<void>((r) => (wake = r));
      await dealer.send(request);
      sent += 1;
    }
  })();
  while (received < total) {
    await dealer.receive();
    received += 1;
    const w = wake;
    wake = undefined;
    w?.();
  }
  await writer;
  const rate = total / (Number(process.hrtime.bigint() - t0) / 1e9);
  serving = false;
  dealer.close();
  router.close();
  return rate;
}

/** `changes` value changes set in the dispatcher, delivered to 100 monitors; deliveries per second. */
async function keywordFanOut(dispatcher: Dispatcher, clients: KeywordClient[], changes: number, base: number): Promise<number> {
  let delivered = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const target = changes * clients.length;
  const subs = await Promise.all(
    clients.map((c) =>
      c
        .service('bench')
        .keyword('COUNT')
        .monitor(() => {
          delivered += 1;
          if (delivered === target) done();
        }),
    ),
  );
  const t0 = process.hrtime.bigint();
  for (let i = 1; i <= changes; i++) {
    dispatcher.set('COUNT', base + i);
    // Let the writer loop run now and then, as a dispatcher serving requests would.
    if (i % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
  const rate = delivered / (Number(process.hrtime.bigint() - t0) / 1e9);
  for (const s of subs) s.unsubscribe();
  return rate;
}

/** The same broadcast frames through a bare PUB to 100 bare SUBs. */
async function rawFanOut(changes: number): Promise<number> {
  const pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  await pub.bind(ANY);
  const subs = Array.from({ length: SUBSCRIBERS }, () => {
    const s = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
    s.connect(pub.lastEndpoint as string);
    s.subscribe(broadcastTopic('bench', 'COUNT'));
    return s;
  });
  // Wait out the slow joiners: publish a probe until every subscriber has one.
  const probe = broadcastFrames('bench', 'COUNT', 0, Buffer.from('probe'));
  const joined = new Set<number>();
  const probing = subs.map(async (s, i) => {
    await s.receive();
    joined.add(i);
  });
  while (joined.size < subs.length) {
    await pub.send(probe);
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(probing);
  // Drain the extra probes each subscriber may still hold.
  let delivered = 0;
  const target = changes * subs.length;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  for (const s of subs) {
    void (async () => {
      try {
        for (;;) {
          const frames = await s.receive();
          if (frames[6]?.toString() === 'probe') continue;
          delivered += 1;
          if (delivered === target) done();
        }
      } catch {
        // closed
      }
    })();
  }
  const t0 = process.hrtime.bigint();
  for (let i = 1; i <= changes; i++) await pub.send(broadcastFrames('bench', 'COUNT', i, Buffer.from(String(i))));
  await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
  const rate = delivered / (Number(process.hrtime.bigint() - t0) / 1e9);
  for (const s of subs) s.close();
  pub.close();
  return rate;
}

export const suite: BenchSuite = {
  name: 'keywords',
  description: 'keyword reads per second and broadcast fan-out to 100 subscribers, beside raw DEALER/ROUTER and PUB/SUB',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const reads = options.quick ? 5_000 : 40_000;
    const serialReads = options.quick ? 1_000 : 5_000;
    const changes = options.quick ? 200 : 2_000;
    const dispatcher = await startDispatcher();
    const endpoints = dispatcher.endpoints();
    if (!endpoints) throw new Error('dispatcher not listening');
    const client = new KeywordClient({ direct: endpoints, timeoutMs: 10_000 });
    const temp = client.service('bench').keyword('TEMP');
    const subscribers = Array.from({ length: SUBSCRIBERS }, () => new KeywordClient({ direct: endpoints, timeoutMs: 10_000 }));
    const samples = { reads100: [] as number[], echo100: [] as number[], reads1: [] as number[], echo1: [] as number[], fan: [] as number[], rawFan: [] as number[] };
    try {
      await keywordReads(temp, 500, 10);
      for (let round = 0; round < options.rounds; round++) {
        // Each figure beside its baseline, the order reversed every other round so drift hits both alike.
        const inTurn = async (base: () => Promise<number>, subject: () => Promise<number>): Promise<[number, number]> => {
          if (round % 2 === 0) {
            const x = await base();
            return [x, await subject()];
          }
          const y = await subject();
          return [await base(), y];
        };
        const [echo100, reads100] = await inTurn(() => rawEcho(reads, 100), () => keywordReads(temp, reads, 100));
        const [echo1, reads1] = await inTurn(() => rawEcho(serialReads, 1), () => keywordReads(temp, serialReads, 1));
        const [rawFan, fan] = await inTurn(() => rawFanOut(changes), () => keywordFanOut(dispatcher, subscribers, changes, round * changes));
        samples.echo100.push(echo100);
        samples.reads100.push(reads100);
        samples.echo1.push(echo1);
        samples.reads1.push(reads1);
        samples.rawFan.push(rawFan);
        samples.fan.push(fan);
      }
    } finally {
      for (const s of subscribers) s.close();
      client.close();
      await dispatcher.stop();
    }
    const row = (name: string, value: number[], unit: string, baseline: string, base: number[], note?: string): BenchRow => ({
      suite: 'keywords',
      name,
      value: median(value),
      unit,
      better: 'higher',
      baseline,
      baselineValue: median(base),
      rounds: options.rounds,
      ...(note ? { note } : {}),
    });
    return [
      row('keyword reads, 100 in flight', samples.reads100, 'reads/s', 'raw DEALER/ROUTER echo, 100 in flight', samples.echo100),
      row('keyword reads, 1 in flight', samples.reads1, 'reads/s', 'raw DEALER/ROUTER echo, 1 in flight', samples.echo1),
      row(
        `broadcast fan-out to ${SUBSCRIBERS} subscribers`,
        samples.fan,
        'deliveries/s',
        `raw PUB/SUB fan-out to ${SUBSCRIBERS} subscribers`,
        samples.rawFan,
        `${changes} changes per round, each delivered to ${SUBSCRIBERS} client-library monitors`,
      ),
    ];
  },
};

// Run on its own: node dist-bench/bench/keywords.js [--quick] [--rounds N]
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : quick ? 1 : 5;
  const rows = await suite.run({ rounds, quick });
  const text = rows
    .map((r) => {
      const ratio = r.baselineValue ? (r.value / r.baselineValue).toFixed(2) : '-';
      return `${r.name}: ${Math.round(r.value)} ${r.unit} | ${r.baseline}: ${Math.round(r.baselineValue ?? 0)} | ratio ${ratio}\n`;
    })
    .join('');
  // Exit only once stdout is flushed: a pipe is written asynchronously.
  process.stdout.write(text, () => process.exit(0));
}
