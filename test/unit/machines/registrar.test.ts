import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type AnyActorRef } from 'xstate';
import type { ZmqCommand } from '../../../src/actors/zmq-socket.js';
import type { DispatcherBound, KeywordServiceEvent } from '../../../src/machines/keywords/keyword-service.machine.js';
import { registrarMachine, type RegistrarEmitted } from '../../../src/machines/keywords/registrar.machine.js';
import { decodeReply, errorReply, grantPayload, okReply, type ErrorCode, type Grant } from '../../../src/protocol/keywords.js';
import { supervisor } from '../../../src/supervisor/index.js';

const GRANT: Grant = { dispatch: 'tcp://127.0.0.1:7000', broadcast: 'tcp://127.0.0.1:7001', heartbeatMs: 100, expiryMs: 300 };

/** The registrar inside a root supervisor, with a fake link, a fake keyword machine and a real endpoints supervisor. */
function boot(options: { allowSpawn?: boolean } = {}) {
  const clock = new SimulatedClock();
  const linkSent: Buffer[][] = [];
  const attached: KeywordServiceEvent[] = [];
  const journal: string[] = [];
  const emitted: RegistrarEmitted[] = [];
  const probe = (id: string) =>
    fromCallback(() => {
      journal.push(`start:${id}`);
      return () => journal.push(`stop:${id}`);
    });
  const link = fromCallback<ZmqCommand<Buffer[]>>(({ receive }) => {
    receive((e) => {
      if (e.type === 'zmq.send') linkSent.push(...e.messages);
    });
  });
  const keywords = fromCallback<KeywordServiceEvent>(({ receive }) => {
    receive((e) => attached.push(e));
  });
  const root = createActor(
    supervisor({
      name: 'd',
      children: [
        { id: 'keywords', systemId: 'd.keywords', logic: keywords },
        { id: 'link', systemId: 'd.link', logic: link },
        {
          id: 'registrar',
          systemId: 'd.registrar',
          logic: registrarMachine({
            service: 'svc',
            token: 'tok',
            host: '127.0.0.1',
            registryEndpoint: 'tcp://127.0.0.1:6510',
            timeoutMs: 50,
            allowSpawn: options.allowSpawn ?? true,
            link: 'd.link',
            keywords: 'd.keywords',
            endpoints: 'd.endpoints',
            root: 'd',
            bindTimeoutMs: 500,
            retryMs: 1000,
            sockets: (grant, generation) => ({
              binding: { dispatch: `d.dispatch.${generation}`, broadcast: `d.broadcast.${generation}`, generation },
              children: [
                { id: `dispatch.${generation}`, logic: probe(`dispatch.${generation}@${grant.dispatch}`) },
                { id: `broadcast.${generation}`, logic: probe(`broadcast.${generation}@${grant.broadcast}`) },
              ],
            }),
            spawn: { spec: { id: 'registry', systemId: 'd.spawned', restart: 'temporary', logic: probe('registry') }, systemId: 'd.spawned', mode: 'thread' },
          }),
        },
        { id: 'endpoints', systemId: 'd.endpoints', logic: supervisor({ name: 'd.endpoints' }) },
      ],
    }),
    { clock, systemId: 'd' },
  ).start();
  const ref = root.system.get('d.registrar') as AnyActorRef;
  const registrar = () => ref;
  registrar().on('*', (e: RegistrarEmitted) => emitted.push(e));
  /** [command, ...args] of what the link was told to send since `from`. */
  const requests = (from = 0) => linkSent.slice(from).map((f) => f.slice(3).map(String));
  const lastId = (command: string) => {
    const frames = [...linkSent].reverse().find((f) => f[3]?.toString() === command);
    if (!frames) throw new Error(`no ${command} sent`);
    return frames[2]!.toString();
  };
  const reply = (frames: Buffer[]) => {
    const r = decodeReply(frames.slice(1));
    if (r.type === 'rejected') throw new Error(r.reason);
    registrar().send({ type: 'zmq.batch', socket: 'd.link', messages: [r] });
  };
  const peer = Buffer.from('r');
  const ok = (command: string, payload: Buffer[] = []) => reply(okReply(peer, lastId(command), payload));
  const fail = (command: string, code: ErrorCode, message = 'no') => reply(errorReply(peer, lastId(command), code, message));
  const bound = (generation: number) => registrar().send({ type: 'dispatcher.bound', generation, dispatch: GRANT.dispatch, broadcast: GRANT.broadcast } satisfies DispatcherBound);
  const state = () => JSON.stringify(registrar().getSnapshot().value);
  /** SimulatedClock fires each timer at most once per increment: step through time as a real clock would. */
  const advance = (ms: number, step = 10) => {
    for (let t = 0; t < ms; t += step) clock.increment(Math.min(step, ms - t));
  };
  return { root, clock, advance, linkSent, requests, ok, fail, bound, state, attached, journal, emitted, registrar };
}

describe('registrar machine', () => {
  it('should register, bind the granted ports, attach the keyword machine, and report registered', () => {
    const r = boot();
    expect(r.requests()).toEqual([['register', 'svc', 'tok', '127.0.0.1', '', '']]);
    r.ok('register', grantPayload(GRANT));
    expect(r.journal).toEqual(['start:dispatch.1@tcp://127.0.0.1:7000', 'start:broadcast.1@tcp://127.0.0.1:7001']);
    expect(r.attached).toEqual([{ type: 'keywords.attach', binding: { dispatch: 'd.dispatch.1', broadcast: 'd.broadcast.1', generation: 1 } }]);
    expect(r.state()).toBe('"binding"');
    r.bound(1);
    expect(r.state()).toBe('{"registered":"beating"}');
    expect(r.emitted).toContainEqual({ type: 'registrar.registered', grant: GRANT });
  });

  it('should heartbeat at the granted interval and stay registered while answered', () => {
    const r = boot();
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    const from = r.linkSent.length;
    for (let i = 0; i < 10; i++) {
      r.clock.increment(100);
      r.ok('heartbeat');
    }
    expect(r.requests(from)).toEqual(Array.from({ length: 10 }, () => ['heartbeat', 'svc', 'tok']));
    expect(r.state()).toBe('{"registered":"beating"}');
  });

  it('should start a registry when none answers within the timeout, once', () => {
    const r = boot();
    r.clock.increment(50);
    expect(r.journal).toEqual(['start:registry']);
    expect(r.emitted).toContainEqual({ type: 'registrar.spawned', mode: 'thread' });
    expect(r.requests().filter(([c]) => c === 'register')).toHaveLength(2);
    r.clock.increment(50);
    expect(r.journal).toEqual(['start:registry']);
  });

  it('should keep asking without spawning when spawning is not allowed', () => {
    const r = boot({ allowSpawn: false });
    r.advance(500);
    expect(r.journal).toEqual([]);
    expect(r.requests().length).toBe(11);
  });

  it('should register again, keeping its ports, when the registry forgets it', () => {
    const r = boot();
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    r.clock.increment(100);
    r.fail('heartbeat', 'no-such-service');
    expect(r.requests().at(-1)).toEqual(['register', 'svc', 'tok', '127.0.0.1', '7000', '']);
    r.ok('register', grantPayload(GRANT));
    // Same ports: nothing rebinds.
    expect(r.journal).toEqual(['start:dispatch.1@tcp://127.0.0.1:7000', 'start:broadcast.1@tcp://127.0.0.1:7001']);
    expect(r.state()).toBe('{"registered":"beating"}');
  });

  it('should move its sockets when a new registry grants other ports', () => {
    const r = boot();
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    r.clock.increment(100);
    r.fail('heartbeat', 'no-such-service');
    r.ok('register', grantPayload({ ...GRANT, dispatch: 'tcp://127.0.0.1:7002', broadcast: 'tcp://127.0.0.1:7003' }));
    expect(r.journal.slice(2)).toEqual([
      'stop:dispatch.1@tcp://127.0.0.1:7000',
      'stop:broadcast.1@tcp://127.0.0.1:7001',
      'start:dispatch.2@tcp://127.0.0.1:7002',
      'start:broadcast.2@tcp://127.0.0.1:7003',
    ]);
    expect(r.attached.at(-1)).toMatchObject({ binding: { generation: 2 } });
  });

  it('should treat a registry silent for the expiry as gone and register again', () => {
    const r = boot({ allowSpawn: false });
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    r.advance(300);
    expect(r.state()).toBe('{"registered":"beating"}');
    r.advance(100);
    expect(r.state()).toBe('{"registering":"asking"}');
    expect(r.requests().at(-1)?.[0]).toBe('register');
  });

  it('should give back ports that do not bind and ask for others', () => {
    const r = boot();
    r.ok('register', grantPayload(GRANT));
    r.clock.increment(500);
    expect(r.journal.slice(2)).toEqual(['stop:dispatch.1@tcp://127.0.0.1:7000', 'stop:broadcast.1@tcp://127.0.0.1:7001']);
    expect(r.requests().at(-1)).toEqual(['register', 'svc', 'tok', '127.0.0.1', '', '7000,7001']);
  });

  it('should report a refusal and try again later', () => {
    const r = boot();
    r.fail('register', 'ports-exhausted', 'no free port pair');
    expect(r.emitted).toContainEqual({ type: 'registrar.refused', code: 'ports-exhausted', message: 'no free port pair' });
    expect(r.state()).toBe('"refused"');
    const before = r.requests().length;
    r.clock.increment(1000);
    expect(r.requests().length).toBe(before + 1);
  });

  it('should ignore answers to an earlier registration round', () => {
    const r = boot();
    const staleId = r.linkSent[0]![2]!.toString();
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    r.clock.increment(100);
    r.fail('heartbeat', 'no-such-service');
    const reply = decodeReply(errorReply(Buffer.from('r'), staleId, 'ports-exhausted', 'old').slice(1));
    r.registrar().send({ type: 'zmq.batch', socket: 'd.link', messages: [reply] });
    expect(r.state()).toBe('{"registering":"asking"}');
  });

  it('should unregister on shutdown and finish when answered', () => {
    const r = boot();
    r.ok('register', grantPayload(GRANT));
    r.bound(1);
    r.registrar().send({ type: 'lifecycle.shutdown' });
    expect(r.requests().at(-1)).toEqual(['unregister', 'svc', 'tok']);
    r.ok('unregister');
    expect(r.registrar().getSnapshot().status).toBe('done');
  });

  it('should finish at once on shutdown when it never registered', () => {
    const r = boot();
    r.registrar().send({ type: 'lifecycle.shutdown' });
    expect(r.registrar().getSnapshot().status).toBe('done');
    expect(r.requests().map(([c]) => c)).toEqual(['register']);
  });
});
