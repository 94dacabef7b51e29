import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeCommand, encodeMetadata, encodePing, encodeReady, pongFor, readCommand, readMetadata } from '../../../src/protocol/zmtp/commands.js';
import { ZmtpConnection, type Transport } from '../../../src/protocol/zmtp/connection.js';
import { FrameReader, encodeMessage, FLAG_COMMAND, type FrameSink } from '../../../src/protocol/zmtp/frames.js';
import { encodeGreeting, GREETING_SIZE, readGreeting } from '../../../src/protocol/zmtp/greeting.js';
import type { Rejection } from '../../../src/protocol/codec.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function recorder() {
  const messages: string[][] = [];
  const commands: Buffer[] = [];
  const skipped: number[] = [];
  const sink: FrameSink = {
    message: (frames) => messages.push(frames.map((f) => f.toString('latin1'))),
    command: (body) => commands.push(body),
    skipped: (n) => skipped.push(n),
  };
  return { sink, messages, commands, skipped };
}

describe('ZMTP frames', () => {
  it('should read short and long frames, several messages from one chunk, as views', () => {
    const r = recorder();
    const reader = new FrameReader(r.sink);
    const big = 'x'.repeat(300);
    const bytes = Buffer.concat([encodeMessage([b('a'), b('bc')]), encodeMessage([b(big)]), encodeMessage([b('')])]);
    expect(reader.push(bytes)).toBe(true);
    expect(r.messages).toEqual([['a', 'bc'], [big], ['']]);
  });

  it('should put the prefix in front of every message (a ROUTER routing id)', () => {
    const r = recorder();
    const reader = new FrameReader(r.sink, undefined, b('id'));
    reader.push(Buffer.concat([encodeMessage([b('one')]), encodeMessage([b('two'), b('three')])]));
    expect(r.messages).toEqual([['id', 'one'], ['id', 'two', 'three']]);
  });

  it('should read the same messages however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        (messages, cuts) => {
          const expected = messages.map((m) => m.map((f) => Buffer.from(f).toString('hex')));
          const stream = Buffer.concat(messages.map((m) => encodeMessage(m.map((f) => Buffer.from(f)))));
          const r = recorder();
          const got: string[][] = [];
          const reader = new FrameReader({ ...r.sink, message: (frames) => got.push(frames.map((f) => f.toString('hex'))) });
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length] as number;
            expect(reader.push(stream.subarray(at, at + n))).toBe(true);
            at += n;
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('should hand commands on apart from messages', () => {
    const r = recorder();
    const reader = new FrameReader(r.sink);
    reader.push(Buffer.concat([encodeCommand('PING', Buffer.from([0, 10])), encodeMessage([b('m')])]));
    expect(r.commands.map((c) => readCommand(c))).toEqual([{ type: 'zmtp.command', name: 'PING', data: Buffer.from([0, 10]) }]);
    expect(r.messages).toEqual([['m']]);
  });

  it('should refuse reserved flags, a command with MORE, and a frame over the size limit', () => {
    for (const bytes of [Buffer.from([0x08, 0]), Buffer.from([FLAG_COMMAND | 1, 0]), encodeMessage([Buffer.alloc(1025)])]) {
      const reader = new FrameReader(recorder().sink, { maxFrameSize: 1024, maxFrames: 8 });
      expect(reader.push(bytes)).toBe(false);
      expect(reader.error?.type).toBe('rejected');
      expect(reader.push(encodeMessage([b('after')]))).toBe(false);
    }
  });

  it('should refuse a frame too large from its header alone, before its body comes', () => {
    const reader = new FrameReader(recorder().sink, { maxFrameSize: 1024, maxFrames: 8 });
    const header = Buffer.alloc(9);
    header[0] = 0x02;
    header.writeUInt32BE(1 << 20, 5);
    expect(reader.push(header.subarray(0, 4))).toBe(true);
    expect(reader.push(header.subarray(4))).toBe(false);
    expect(reader.error?.reason).toBe('zmtp_frame_too_large');
  });

  it('should skip a message with too many frames whole and read the next one', () => {
    const r = recorder();
    const reader = new FrameReader(r.sink, { maxFrameSize: 1024, maxFrames: 3 });
    reader.push(Buffer.concat([encodeMessage([b('1'), b('2'), b('3'), b('4')]), encodeMessage([b('ok')])]));
    expect(r.skipped).toEqual([4]);
    expect(r.messages).toEqual([['ok']]);
  });
});

describe('ZMTP greeting and commands', () => {
  it('should write a 64-byte ZMTP 3.1 NULL greeting and read it back', () => {
    const g = encodeGreeting();
    expect(g.length).toBe(GREETING_SIZE);
    expect(readGreeting(g)).toEqual({ type: 'zmtp.greeting', major: 3, minor: 1, mechanism: 'NULL', asServer: false });
    expect(readGreeting(g.subarray(0, 20))).toBeUndefined();
  });

  it('should refuse an old or foreign peer from its first bytes', () => {
    expect((readGreeting(b('GET / HTTP/1.1')) as Rejection).reason).toBe('zmtp_bad_signature');
    const v2 = encodeGreeting();
    v2[10] = 1;
    expect((readGreeting(v2.subarray(0, 11)) as Rejection).reason).toBe('zmtp_old_version');
    const v1 = encodeGreeting();
    v1[9] = 0;
    expect((readGreeting(v1.subarray(0, 10)) as Rejection).reason).toBe('zmtp_bad_signature');
  });

  it('should write and read READY metadata, names without case', () => {
    const ready = encodeReady('DEALER', b('node-1'));
    const r = recorder();
    new FrameReader(r.sink).push(ready);
    const command = readCommand(r.commands[0]!);
    if (command.type !== 'zmtp.command') throw new Error(command.reason);
    expect(command.name).toBe('READY');
    const meta = readMetadata(command.data);
    if (meta.type !== 'zmtp.metadata') throw new Error(meta.reason);
    expect(meta.properties.get('socket-type')?.toString()).toBe('DEALER');
    expect(meta.properties.get('identity')?.toString()).toBe('node-1');
  });

  it('should refuse truncated metadata', () => {
    const data = encodeMetadata([['Socket-Type', b('DEALER')]]);
    expect(readMetadata(data.subarray(0, data.length - 1)).type).toBe('rejected');
  });

  it('should answer PING with a PONG carrying its context', () => {
    const pong = pongFor(Buffer.concat([Buffer.from([0, 30]), b('ctx')]));
    const r = recorder();
    new FrameReader(r.sink).push(pong);
    expect(readCommand(r.commands[0]!)).toEqual({ type: 'zmtp.command', name: 'PONG', data: b('ctx') });
  });
});

describe('ZMTP connection (accepting side, NULL)', () => {
  function peer() {
    const written: Buffer[] = [];
    const messages: string[][] = [];
    const events: string[] = [];
    let failure: Rejection | undefined;
    const transport: Transport = {
      write: (bytes) => written.push(bytes),
      ready: (metadata) => {
        events.push(`ready ${metadata.properties.get('identity')?.toString() ?? ''}`);
        conn.setPrefix(b('ID'));
      },
      message: (frames) => messages.push(frames.map((f) => f.toString('latin1'))),
      skipped: () => events.push('skipped'),
      failed: (problem) => {
        failure = problem;
      },
    };
    const conn = new ZmtpConnection(transport, 'ROUTER');
    conn.start();
    return { conn, written, messages, events, failure: () => failure };
  }

  it('should send its greeting and READY at once, then take the peer greeting, READY and messages in one read', () => {
    const p = peer();
    expect(Buffer.concat(p.written).subarray(0, 64)).toEqual(encodeGreeting());
    p.conn.receive(Buffer.concat([encodeGreeting(), encodeReady('DEALER', b('web1')), encodeMessage([b('sid'), b('uwsgi'), b('x')])]));
    expect(p.events).toEqual(['ready web1']);
    expect(p.messages).toEqual([['ID', 'sid', 'uwsgi', 'x']]);
    expect(p.conn.open).toBe(true);
  });

  it('should take a greeting that comes a byte at a time', () => {
    const p = peer();
    const bytes = Buffer.concat([encodeGreeting(), encodeReady('DEALER'), encodeMessage([b('m')])]);
    for (let i = 0; i < bytes.length; i++) p.conn.receive(bytes.subarray(i, i + 1));
    expect(p.messages).toEqual([['ID', 'm']]);
  });

  it('should answer PING once open', () => {
    const p = peer();
    p.conn.receive(Buffer.concat([encodeGreeting(), encodeReady('DEALER')]));
    p.written.length = 0;
    p.conn.receive(encodeCommand('PING', Buffer.from([0, 1, 7])));
    expect(p.written).toEqual([pongFor(Buffer.from([0, 1, 7]))]);
  });

  it('should refuse another mechanism, a socket type that does not talk to a ROUTER, and messages before READY', () => {
    const curve = encodeGreeting('CURVE');
    const cases: Array<[Buffer, string]> = [
      [curve, 'zmtp_mechanism'],
      [Buffer.concat([encodeGreeting(), encodeReady('PUB')]), 'zmtp_socket_type'],
      [Buffer.concat([encodeGreeting(), encodeMessage([b('early')])]), 'zmtp_handshake'],
      [Buffer.concat([encodeGreeting(), encodeCommand('ERROR', Buffer.from('\x05nope'))]), 'zmtp_peer_error'],
    ];
    for (const [bytes, reason] of cases) {
      const p = peer();
      p.conn.receive(bytes);
      expect(p.failure()?.reason).toBe(reason);
      expect(p.messages).toEqual([]);
    }
  });
});

describe('ZMTP connection (connecting DEALER side, NULL)', () => {
  function dealer(identity?: Buffer) {
    const written: Buffer[] = [];
    const messages: string[][] = [];
    const ready: Array<string | undefined> = [];
    let failure: Rejection | undefined;
    const transport: Transport = {
      write: (bytes) => written.push(bytes),
      ready: (metadata) => ready.push(metadata.properties.get('socket-type')?.toString()),
      message: (frames) => messages.push(frames.map((f) => f.toString('hex'))),
      skipped: () => undefined,
      failed: (problem) => {
        failure = problem;
      },
    };
    const conn = new ZmtpConnection(transport, 'DEALER', undefined, identity);
    conn.start();
    return { conn, written, messages, ready, failure: () => failure };
  }

  /** What the DEALER wrote after its greeting, read back as commands. */
  function commandsOf(written: Buffer[]) {
    const r = recorder();
    new FrameReader(r.sink).push(Buffer.concat(written).subarray(GREETING_SIZE));
    return r.commands.map((c) => readCommand(c));
  }

  it('should send its greeting and READY with Socket-Type DEALER and, when given, Identity, in one write', () => {
    const named = dealer(b('worker-7'));
    expect(named.written.length).toBe(1);
    expect(named.written[0]!.subarray(0, GREETING_SIZE)).toEqual(encodeGreeting());
    const [ready] = commandsOf(named.written);
    if (ready?.type !== 'zmtp.command') throw new Error('no READY');
    const meta = readMetadata(ready.data);
    if (meta.type !== 'zmtp.metadata') throw new Error(meta.reason);
    expect(meta.properties.get('socket-type')?.toString()).toBe('DEALER');
    expect(meta.properties.get('identity')?.toString()).toBe('worker-7');
    const anonymous = commandsOf(dealer().written)[0];
    if (anonymous?.type !== 'zmtp.command') throw new Error('no READY');
    const props = readMetadata(anonymous.data);
    expect(props.type === 'zmtp.metadata' && props.properties.has('identity')).toBe(false);
  });

  it("should read a ROUTER's greeting, READY and messages the same however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ maxLength: 400 }), { minLength: 1, maxLength: 4 }), { minLength: 0, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (messages, cuts, pingFirst) => {
          const expected = messages.map((m) => m.map((f) => Buffer.from(f).toString('hex')));
          const frames = messages.map((m) => encodeMessage(m.map((f) => Buffer.from(f))));
          // A PING may come between messages: it is answered, never handed on.
          const ping = encodePing(3_000, b('ctx'));
          const stream = Buffer.concat([encodeGreeting(), encodeReady('ROUTER'), ...(pingFirst ? [ping] : []), ...frames]);
          const d = dealer(b('w'));
          d.written.length = 0;
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length] as number;
            d.conn.receive(stream.subarray(at, at + n));
            at += n;
          }
          expect(d.failure()).toBeUndefined();
          expect(d.ready).toEqual(['ROUTER']);
          expect(d.messages).toEqual(expected);
          expect(d.written).toEqual(pingFirst ? [pongFor(Buffer.concat([Buffer.from([0, 30]), b('ctx')]))] : []);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should refuse peers a DEALER does not talk to (PUB, REQ, PULL) and a peer without a Socket-Type', () => {
    for (const peerType of ['PUB', 'REQ', 'PULL']) {
      const d = dealer();
      d.conn.receive(Buffer.concat([encodeGreeting(), encodeReady(peerType), encodeMessage([b('x')])]));
      expect(d.failure()?.reason).toBe('zmtp_socket_type');
      expect(d.messages).toEqual([]);
    }
    const bare = dealer();
    bare.conn.receive(Buffer.concat([encodeGreeting(), encodeCommand('READY', encodeMetadata([]))]));
    expect(bare.failure()?.reason).toBe('zmtp_socket_type');
  });

  it('should take a REP or DEALER peer as well as a ROUTER', () => {
    for (const peerType of ['REP', 'DEALER', 'ROUTER']) {
      const d = dealer();
      d.conn.receive(Buffer.concat([encodeGreeting(), encodeReady(peerType)]));
      expect(d.conn.open).toBe(true);
    }
  });

  it("should close on the peer's ERROR, in the handshake or after it", () => {
    const early = dealer();
    early.conn.receive(Buffer.concat([encodeGreeting(), encodeCommand('ERROR', Buffer.from('\x0ddenied access'))]));
    expect(early.failure()).toMatchObject({ reason: 'zmtp_peer_error', detail: 'denied access' });
    const late = dealer();
    late.conn.receive(Buffer.concat([encodeGreeting(), encodeReady('ROUTER'), encodeCommand('ERROR', Buffer.from('\x03bye'))]));
    expect(late.failure()).toMatchObject({ reason: 'zmtp_peer_error', detail: 'bye' });
  });

  it('should write a PING with its TTL in tenths of a second and at most 16 bytes of context', () => {
    const r = recorder();
    new FrameReader(r.sink).push(Buffer.concat([encodePing(2_500), encodePing(10_000_000, Buffer.alloc(40, 1))]));
    const [first, second] = r.commands.map((c) => readCommand(c));
    expect(first).toEqual({ type: 'zmtp.command', name: 'PING', data: Buffer.from([0, 25]) });
    if (second?.type !== 'zmtp.command') throw new Error('no PING');
    expect(second.data.readUInt16BE(0)).toBe(0xffff);
    expect(second.data.length).toBe(18);
  });
});
