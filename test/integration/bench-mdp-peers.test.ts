/**
 * The broker benchmark's yardstick must itself be right: the floor MDP broker
 * (bench/peers/mdp-floor-broker.ts) routes like RFC 7 says, and the C load
 * client and echo worker (bench/peers/mdp-*.c) speak MDP/0.1 to both the
 * floor and steward's broker and account for every request. Real sockets on
 * 127.0.0.1 and real processes; no timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCPeers } from '../../bench/lib/c-peers.js';
import { LoadClient } from '../../bench/lib/load-client.js';
import { PERCENTILES } from '../../bench/lib/load.js';
import { startCommand, type Proc } from '../../bench/lib/proc.js';
import { startFloorBroker } from '../../bench/peers/mdp-floor-broker.js';
import { Broker } from '../../src/api/broker.js';
import { MdpCommand, clientRequest, workerDisconnect } from '../../src/protocol/mdp.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { ANY, receiveWithin } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function floor() {
  const f = await startFloorBroker(ANY);
  cleanups.push(() => f.close());
  return f.endpoint;
}

describe('floor MDP broker', () => {
  it('should queue a request until a worker is ready, hand it over, and route the reply back with the service name', async () => {
    const endpoint = await floor();
    const client = new RawMdpClient(endpoint);
    const worker = new RawMdpWorker(endpoint);
    cleanups.push(() => client.close(), () => worker.close());
    await client.request('echo', ['early']);
    await worker.ready('echo');
    const request = await worker.nextRequest();
    expect(request.body.map(String)).toEqual(['early']);
    await worker.reply(request.envelope, ['answer', 'two frames']);
    expect(await client.reply()).toEqual(['MDPC01', 'echo', 'answer', 'two frames']);
  });

  it('should give each idle worker one request, and the next only after its reply', async () => {
    const endpoint = await floor();
    const client = new RawMdpClient(endpoint);
    const a = new RawMdpWorker(endpoint);
    const b = new RawMdpWorker(endpoint);
    cleanups.push(() => client.close(), () => a.close(), () => b.close());
    await a.ready('svc');
    await b.ready('svc');
    for (const body of ['1', '2', '3']) await client.request('svc', [body]);
    const first = await a.nextRequest();
    const second = await b.nextRequest();
    expect([first, second].map((r) => r.body.toString()).sort()).toEqual(['1', '2']);
    // The third waits for a reply: nothing reaches a busy worker before it answers.
    const next = a.socket.receive();
    const early = await Promise.race([next.then(() => 'a request'), new Promise((r) => setTimeout(() => r('nothing'), 200))]);
    expect(early).toBe('nothing');
    await a.reply(first.envelope, ['r1']);
    expect((await next).slice(5).map(String)).toEqual(['3']);
    expect(await client.reply()).toEqual(['MDPC01', 'svc', 'r1']);
  });

  it('should stop handing requests to a worker that sent DISCONNECT', async () => {
    const endpoint = await floor();
    const leaving = new RawMdpWorker(endpoint);
    const staying = new RawMdpWorker(endpoint);
    cleanups.push(() => leaving.close(), () => staying.close());
    await leaving.ready('svc');
    await leaving.socket.send(workerDisconnect());
    // The request comes over the same connection, so the broker has seen DISCONNECT before it.
    await leaving.socket.send(clientRequest('svc', [Buffer.from('x')]));
    await staying.ready('svc');
    expect((await staying.nextRequest()).body.toString()).toBe('x');
    await expect(leaving.nextRequest(200)).rejects.toThrow(/timed out/);
  });
});

const gcc = spawnSync('gcc', ['--version']);
const haveCompiler = gcc.status === 0 && spawnSync('sh', ['-c', 'echo "#include <zmq.h>" | gcc -E -x c - >/dev/null']).status === 0;

describe.skipIf(!haveCompiler)('C MDP peers (need gcc and libzmq3-dev)', () => {
  const start = async (command: string, args: string[]): Promise<Proc> => {
    const p = await startCommand(command, args, (l) => l === 'ready');
    cleanups.push(() => p.stop());
    return p;
  };
  const client = async (endpoint: string) => {
    const c = await LoadClient.start(buildCPeers().client, [endpoint]);
    cleanups.push(() => c.stop());
    return c;
  };

  it('the worker should send READY, answer REQUEST with REPLY carrying the envelope and body, and ignore what is not MDP', async () => {
    const router = new zmq.Router({ linger: 0 });
    await router.bind(ANY);
    cleanups.push(() => router.close());
    await start(buildCPeers().worker, [router.lastEndpoint as string, 'echo.c']);
    const [peer, ...ready] = await receiveWithin(router, 5_000);
    expect(ready.map(String)).toEqual(['', 'MDPW01', String.fromCharCode(MdpCommand.Ready), 'echo.c']);
    await router.send([peer!, Buffer.from('not mdp')]);
    await router.send([peer!, '', 'MDPW01', Buffer.from([MdpCommand.Request]), 'ENVELOPE', '', 'body-1', 'body-2']);
    let reply = await receiveWithin(router, 5_000);
    while (reply[3]?.[0] === MdpCommand.Heartbeat) reply = await receiveWithin(router, 5_000);
    expect(reply.slice(1).map(String)).toEqual(['', 'MDPW01', String.fromCharCode(MdpCommand.Reply), 'ENVELOPE', '', 'body-1', 'body-2']);
  });

  it('the load client should answer a command it cannot parse with an error line', async () => {
    const c = await client('tcp://127.0.0.1:9');
    await expect(c.run('echo', 0, 100, 16)).rejects.toThrow(/IN_FLIGHT must be/);
  });

  for (const via of ['the floor broker', "steward's broker"] as const) {
    it(`should put every request of 1 and of 100 in flight through ${via} and back, none lost`, async () => {
      let frontend: string;
      let backend: string;
      if (via === 'the floor broker') {
        frontend = backend = await floor();
      } else {
        const broker = await Broker.start({ frontend: ANY, backend: ANY });
        cleanups.push(() => broker.stop());
        ({ frontend, backend } = await broker.endpoints());
      }
      await start(buildCPeers().worker, [backend, 'echo.c']);
      await start(buildCPeers().worker, [backend, 'echo.c']);
      const c = await client(frontend);
      for (const inFlight of [1, 100]) {
        const r = await c.run('echo.c', inFlight, 300, 16);
        expect(r.lost).toBe(0);
        expect(r.requests).toBeGreaterThanOrEqual(inFlight);
        expect(r.percentilesMs).toHaveLength(PERCENTILES.length);
        expect([...r.percentilesMs].sort((x, y) => x - y)).toEqual(r.percentilesMs);
        expect(r.p50Ms).toBeGreaterThan(0);
      }
    });
  }
});
