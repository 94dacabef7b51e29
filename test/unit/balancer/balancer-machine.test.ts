import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type AnyActorRef } from 'xstate';
import type { ConfigFileCommand, ConfigOwnerEvent } from '../../../src/actors/config-file.js';
import type { ZmqCommand } from '../../../src/actors/zmq-socket.js';
import { parseBalancerConfig, type BalancerConfig } from '../../../src/config/balancer-config.js';
import { balancerMachine } from '../../../src/machines/balancer/balancer.machine.js';
import type { BackendHealthInput, HealthStatusEvent } from '../../../src/machines/balancer/events.js';
import { type StirrInbound, type StirrReply } from '../../../src/protocol/stirr.js';
import { supervisor } from '../../../src/supervisor/index.js';

function config(backends: unknown[], file = 'test.json'): BalancerConfig {
  return parseBalancerConfig(JSON.stringify({ backends }), file);
}

const tcp = (port: number) => ({ type: 'Tcp', heartbeat: 1, configuration: { host: '127.0.0.1', port } });
const request = (group = 'default', type = 'Base'): StirrInbound => ({
  type: 'stirr.request',
  envelope: [Buffer.from('peer')],
  request: { group, type, algorithm: 'Casual', args: [] },
});

/** The balancer machine between a fake socket, a fake config file and a real health supervisor with fake health actors. */
function boot(initial: BalancerConfig) {
  const sends: StirrReply[][] = [];
  const healthStarted: string[] = [];
  const healthInputs: BackendHealthInput[] = [];
  const healthStopped: string[] = [];
  let current = initial;
  const socket = fromCallback<ZmqCommand<StirrReply>>(({ receive, system }) => {
    receive((command) => {
      if (command.type === 'zmq.send') sends.push([...command.messages]);
      if (command.type === 'zmq.announce') system.get('b.machine')?.send({ type: 'zmq.ready', socket: 'b.socket', endpoints: ['tcp://127.0.0.1:1'] });
    });
  });
  const file = fromCallback<ConfigFileCommand>(({ receive, system }) => {
    receive((command) => {
      if (command.type === 'config.announce') {
        const loaded: ConfigOwnerEvent<BalancerConfig> = { type: 'config.loaded', config: current, cause: 'announce' };
        system.get('b.machine')?.send(loaded);
      }
    });
  });
  const fakeHealth = fromCallback<{ type: string }, BackendHealthInput>(({ input }) => {
    healthStarted.push(input.id);
    healthInputs.push(input);
    return () => healthStopped.push(input.id);
  });
  const root = supervisor({
    name: 'b',
    strategy: 'rest_for_one',
    children: [
      { id: 'socket', systemId: 'b.socket', logic: socket },
      { id: 'config', systemId: 'b.config', logic: file },
      {
        id: 'machine',
        systemId: 'b.machine',
        logic: balancerMachine({
          socket: 'b.socket',
          config: 'b.config',
          health: 'b.health',
          healthPrefix: 'b.health.backend',
          self: 'b.machine',
          healthLogic: fakeHealth,
          checkTimeoutMs: 500,
        }),
      },
      { id: 'health', systemId: 'b.health', logic: supervisor({ name: 'b.health', intensity: 100 }) },
    ],
  });
  const clock = new SimulatedClock();
  const actor = createActor(root, { clock });
  actor.start();
  const machine = () => actor.system.get('b.machine') as AnyActorRef;
  const send = (event: unknown) => machine().send(event as never);
  const answers = () => sends.map((batch) => batch.map((r) => JSON.parse(r.body.toString()) as unknown));
  return {
    actor,
    clock,
    sends,
    answers,
    healthStarted,
    healthInputs,
    healthStopped,
    send,
    machine,
    setFile: (c: BalancerConfig) => {
      current = c;
    },
  };
}

describe('balancer machine', () => {
  it('should apply the announced configuration and start one health actor per checked backend', () => {
    const { healthStarted, actor } = boot(config([{ type: 'Base', configuration: 0 }, tcp(1), tcp(2)]));
    expect(healthStarted).toHaveLength(2);
    for (const id of healthStarted) expect(actor.system.get(`b.health.backend.${id}`)).toBeDefined();
  });

  it('should pass the health actor its target, heartbeat and a timeout no longer than the heartbeat', () => {
    const { healthInputs } = boot(config([tcp(7)]));
    expect(healthInputs[0]).toMatchObject({ target: { kind: 'Tcp', port: 7 }, intervalMs: 1000, timeoutMs: 500, owner: 'b.machine' });
  });

  it('should answer a burst with one zmq.send holding one reply per request, in order', () => {
    const { send, sends, answers } = boot(config([{ type: 'Base', configuration: { n: 1 } }]));
    send({
      type: 'zmq.batch',
      socket: 'b.socket',
      messages: [
        request(),
        { type: 'stirr.invalid', envelope: [Buffer.from('peer')], reason: 'bad_json', error: 'x' },
        request('nope'),
      ] satisfies StirrInbound[],
    });
    expect(sends).toHaveLength(1);
    expect(answers()[0]).toEqual([{ n: 1 }, { error: 'x', reason: 'bad_json' }, { error: 'unknown group "nope"', reason: 'unknown_group' }]);
  });

  it('should skip a backend its health actor reports down, and hand it out again once up', () => {
    const { send, answers, healthStarted } = boot(config([tcp(1)]));
    const id = healthStarted[0]!;
    const status = (s: 'up' | 'down'): HealthStatusEvent => ({ type: 'health.status', id, status: s, error: s === 'down' ? 'ECONNREFUSED' : undefined, checks: 1, failures: 0 });
    send(status('down'));
    send({ type: 'zmq.batch', socket: 'b.socket', messages: [request('default', 'Tcp')] });
    send(status('up'));
    send({ type: 'zmq.batch', socket: 'b.socket', messages: [request('default', 'Tcp')] });
    const [down, up] = answers();
    expect(down![0]).toMatchObject({ reason: 'all_down', error: expect.stringContaining('ECONNREFUSED') });
    expect(up![0]).toEqual({ host: '127.0.0.1', port: 1 });
  });

  it('should stop the health actors of backends a reload removed and start those it added', () => {
    const { send, healthStarted, healthStopped } = boot(config([tcp(1), tcp(2)]));
    const [one, two] = healthStarted;
    send({ type: 'config.loaded', config: config([tcp(1), tcp(3)]), cause: 'file' } satisfies ConfigOwnerEvent<BalancerConfig>);
    expect(healthStopped).toEqual([two]);
    expect(healthStarted).toHaveLength(3);
    expect(healthStarted[2]).not.toBe(one);
  });

  it('should ignore an announced configuration it already applied', () => {
    const c = config([tcp(1)]);
    const { send, healthStarted, machine } = boot(c);
    send({ type: 'config.loaded', config: c, cause: 'announce' });
    expect(healthStarted).toHaveLength(1);
    expect(machine().getSnapshot().context.configState.applied).toBe(1);
  });

  it('should record a rejected configuration and keep answering from the old one', () => {
    const { send, answers, machine } = boot(config([{ type: 'Base', configuration: 'old' }]));
    send({ type: 'config.rejected', file: 'test.json', error: 'test.json: backends[0].configuration: missing', cause: 'signal' });
    send({ type: 'zmq.batch', socket: 'b.socket', messages: [request()] });
    expect(answers()[0]).toEqual(['old']);
    expect(machine().getSnapshot().context.configState).toMatchObject({ rejected: 1, lastError: 'test.json: backends[0].configuration: missing' });
  });

  it('should restart, on a tick, a health actor that went missing', () => {
    const { send, healthStarted, actor } = boot(config([tcp(1)]));
    const id = healthStarted[0]!;
    (actor.system.get('b.health') as AnyActorRef).send({ type: 'supervisor.terminateChild', id });
    expect(actor.system.get(`b.health.backend.${id}`)).toBeUndefined();
    send({ type: 'heartbeat.tick' });
    expect(healthStarted).toEqual([id, id]);
    expect(actor.system.get(`b.health.backend.${id}`)).toBeDefined();
  });

  it('should take the configuration in force again, and fresh health actors, after a crash', () => {
    const { setFile, send, answers, healthStarted, healthStopped, clock } = boot(config([{ type: 'Base', configuration: 'first' }, tcp(1)]));
    setFile(config([{ type: 'Base', configuration: 'second' }, tcp(1)]));
    // A configuration that is not one makes apply() throw: the machine crashes.
    send({ type: 'config.loaded', config: { file: 'x', digest: 'broken', backends: null } as unknown as BalancerConfig, cause: 'file' });
    clock.increment(1_000);
    send({ type: 'zmq.batch', socket: 'b.socket', messages: [request()] });
    expect(answers()).toEqual([['second']]);
    // rest_for_one: the health supervisor restarted with the machine, and the machine started its checks again.
    expect(healthStopped).toHaveLength(1);
    expect(healthStarted).toHaveLength(2);
  });
});
