import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type AnyActorRef } from 'xstate';
import type { ZmqCommand } from '../../../src/actors/zmq-socket.js';
import { parseKeywordsFile } from '../../../src/config/keywords-file.js';
import { keywordServiceMachine, type KeywordServiceEmitted } from '../../../src/machines/keywords/keyword-service.machine.js';
import { decodeBroadcast, decodeDispatcherRequest, decodeReply, request, type DispatcherInbound, type Reply } from '../../../src/protocol/keywords.js';
import { supervisor } from '../../../src/supervisor/index.js';

const peer = Buffer.from('client-1');
const definitions = parseKeywordsFile(
  {
    keywords: [
      { name: 'TEMP', type: 'double', initial: 20, min: -50, max: 150, units: 'degC' },
      { name: 'MODE', type: 'enumerated', enumerators: ['Off', 'On'], initial: 'Off' },
      { name: 'NOTE', type: 'string', initial: '' },
      { name: 'SERIAL', type: 'string', initial: 'X1', readonly: true },
    ],
  },
  'test',
);

function msg(id: string, command: string, ...args: (string | Buffer)[]): DispatcherInbound {
  const m = decodeDispatcherRequest([peer, ...request(id, command as never, args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(a))))]);
  if (m.type === 'rejected') throw new Error(m.reason);
  return m;
}

function recorder(log: Array<{ socket: string; frames: Buffer[] }>, name: string) {
  return fromCallback<ZmqCommand<Buffer[]>>(({ receive }) => {
    receive((e) => {
      if (e.type === 'zmq.send') for (const frames of e.messages) log.push({ socket: name, frames });
    });
  });
}

function boot() {
  const out: Array<{ socket: string; frames: Buffer[] }> = [];
  const emitted: KeywordServiceEmitted[] = [];
  const root = createActor(
    supervisor({
      name: 'd',
      children: [
        {
          id: 'keywords',
          systemId: 'd.keywords',
          logic: keywordServiceMachine({ service: 'svc', definitions, binding: { dispatch: 'd.dispatch.0', broadcast: 'd.broadcast.0', generation: 0 } }),
        },
        { id: 'dispatch.0', systemId: 'd.dispatch.0', logic: recorder(out, 'd.dispatch.0') },
        { id: 'broadcast.0', systemId: 'd.broadcast.0', logic: recorder(out, 'd.broadcast.0') },
        { id: 'dispatch.1', systemId: 'd.dispatch.1', logic: recorder(out, 'd.dispatch.1') },
        { id: 'broadcast.1', systemId: 'd.broadcast.1', logic: recorder(out, 'd.broadcast.1') },
      ],
    }),
    { clock: new SimulatedClock() },
  ).start();
  const machine = () => root.system.get('d.keywords') as AnyActorRef;
  machine().on('dispatcher.listening', (e: KeywordServiceEmitted) => emitted.push(e));
  const batch = (socket: string, ...messages: DispatcherInbound[]) => {
    const from = out.length;
    machine().send({ type: 'zmq.batch', socket, messages });
    return out.slice(from);
  };
  const replies = (sent: Array<{ socket: string; frames: Buffer[] }>): Reply[] =>
    sent
      .filter((s) => s.socket.includes('dispatch'))
      .map((s) => {
        const r = decodeReply(s.frames.slice(1));
        if (r.type === 'rejected') throw new Error(r.reason);
        return r;
      });
  const broadcasts = (sent: Array<{ socket: string; frames: Buffer[] }>) => sent.filter((s) => s.socket.includes('broadcast')).map((s) => ({ socket: s.socket, b: decodeBroadcast(s.frames) }));
  return { machine, batch, replies, broadcasts, emitted };
}

const text = (r: Reply) => (r.ok ? r.payload.map(String) : [r.code, r.message]);

describe('keyword service machine', () => {
  it('should say it listens once both sockets report ready', () => {
    const d = boot();
    d.machine().send({ type: 'zmq.ready', socket: 'd.dispatch.0', endpoints: ['tcp://127.0.0.1:1'] });
    expect(d.emitted).toEqual([]);
    d.machine().send({ type: 'zmq.ready', socket: 'd.broadcast.0', endpoints: ['tcp://127.0.0.1:2'] });
    expect(d.emitted).toEqual([{ type: 'dispatcher.listening', service: 'svc', dispatch: 'tcp://127.0.0.1:1', broadcast: 'tcp://127.0.0.1:2' }]);
  });

  it('should answer reads with the current value', () => {
    const d = boot();
    expect(d.replies(d.batch('d.dispatch.0', msg('1', 'update', 'svc', 'TEMP'))).map(text)).toEqual([['TEMP', '20']]);
  });

  it('should store a valid write in canonical form, answer it, and broadcast the change', () => {
    const d = boot();
    const sent = d.batch('d.dispatch.0', msg('1', 'modify', 'svc', 'MODE', 'on'), msg('2', 'update', 'svc', 'MODE'));
    expect(d.replies(sent).map(text)).toEqual([['MODE', 'On'], ['MODE', 'On']]);
    expect(d.broadcasts(sent)).toEqual([{ socket: 'd.broadcast.0', b: { type: 'keywords.broadcast', service: 'svc', keyword: 'MODE', seq: 1, value: Buffer.from('On') } }]);
  });

  it('should not broadcast a write that changes nothing', () => {
    const d = boot();
    const sent = d.batch('d.dispatch.0', msg('1', 'modify', 'svc', 'TEMP', '20.0'));
    expect(d.replies(sent).map(text)).toEqual([['TEMP', '20']]);
    expect(d.broadcasts(sent)).toEqual([]);
  });

  it('should number broadcasts in order across keywords', () => {
    const d = boot();
    const sent = d.batch('d.dispatch.0', msg('1', 'modify', 'svc', 'TEMP', '1'), msg('2', 'modify', 'svc', 'NOTE', 'x'), msg('3', 'modify', 'svc', 'TEMP', '2'));
    expect(d.broadcasts(sent).map(({ b }) => (b.type === 'keywords.broadcast' ? `${b.seq}:${b.keyword}=${b.value}` : b.type))).toEqual(['1:TEMP=1', '2:NOTE=x', '3:TEMP=2']);
  });

  it('should refuse invalid values, read-only keywords, unknown keywords and another service, changing nothing', () => {
    const d = boot();
    const sent = d.batch(
      'd.dispatch.0',
      msg('1', 'modify', 'svc', 'TEMP', '500'),
      msg('2', 'modify', 'svc', 'TEMP', 'warm'),
      msg('3', 'modify', 'svc', 'SERIAL', 'X2'),
      msg('4', 'update', 'svc', 'NOPE'),
      msg('5', 'update', 'svc2', 'TEMP'),
      msg('6', 'update', 'svc', 'TEMP'),
    );
    const r = d.replies(sent);
    expect(r.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['invalid-value', 'invalid-value', 'read-only', 'no-such-keyword', 'wrong-service', 'ok']);
    expect(text(r[0]!)[1]).toMatch(/svc\.TEMP \(double\): 500 is above the maximum 150/);
    expect(text(r[5]!)).toEqual(['TEMP', '20']);
    expect(d.broadcasts(sent)).toEqual([]);
  });

  it('should keep values with ":" and arbitrary bytes exactly', () => {
    const d = boot();
    const bytes = Buffer.from([0x3a, 0x00, 0x3a, 0xff, 0x0a]);
    const sent = d.batch('d.dispatch.0', msg('1', 'modify', 'svc', 'NOTE', bytes), msg('2', 'update', 'svc', 'NOTE'));
    const r = d.replies(sent);
    expect(r[1]!.ok && r[1]!.payload[1]!.equals(bytes)).toBe(true);
    const b = d.broadcasts(sent)[0]!.b;
    expect(b.type === 'keywords.broadcast' && b.value.equals(bytes)).toBe(true);
  });

  it('should identify a keyword and enumerate the service', () => {
    const d = boot();
    const r = d.replies(d.batch('d.dispatch.0', msg('1', 'identify', 'svc', 'TEMP'), msg('2', 'enumerate', 'svc')));
    expect(JSON.parse(text(r[0]!)[0]!)).toEqual({ name: 'TEMP', type: 'double', readonly: false, units: 'degC', min: -50, max: 150 });
    expect(text(r[1]!)).toEqual(['TEMP', 'MODE', 'NOTE', 'SERIAL']);
  });

  it('should publish a sync mark on the asked topic', () => {
    const d = boot();
    const sent = d.batch('d.dispatch.0', msg('1', 'sync', 'svc', 'TEMP', 'tok1'), msg('2', 'sync', 'svc', '', 'tok2'), msg('3', 'sync', 'svc', 'NOPE', 'tok3'));
    expect(d.replies(sent).map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'ok', 'no-such-keyword']);
    expect(d.broadcasts(sent).map(({ b }) => b)).toEqual([
      { type: 'keywords.syncMark', service: 'svc', keyword: 'TEMP', token: 'tok1' },
      { type: 'keywords.syncMark', service: 'svc', keyword: '', token: 'tok2' },
    ]);
  });

  it('should broadcast a value its own code sets, read-only keywords included', () => {
    const d = boot();
    const before = d.batch('d.dispatch.0');
    expect(before).toEqual([]);
    d.machine().send({ type: 'keywords.set', name: 'SERIAL', value: 'X9' });
    const r = d.replies(d.batch('d.dispatch.0', msg('1', 'update', 'svc', 'SERIAL')));
    expect(text(r[0]!)).toEqual(['SERIAL', 'X9']);
  });

  it('should move to a new binding: answers go back where requests came from, broadcasts to the new socket', () => {
    const d = boot();
    d.machine().send({ type: 'keywords.attach', binding: { dispatch: 'd.dispatch.1', broadcast: 'd.broadcast.1', generation: 1 } });
    const sent = d.batch('d.dispatch.0', msg('1', 'modify', 'svc', 'TEMP', '7'));
    expect(sent.map((s) => s.socket)).toEqual(['d.dispatch.0', 'd.broadcast.1']);
  });
});
