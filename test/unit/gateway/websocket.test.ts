import { describe, expect, it } from 'vitest';
import {
  acceptKey,
  CloseCode,
  encodeClose,
  encodeFrame,
  handshakeResponse,
  isValidKey,
  Opcode,
  WebSocketReader,
  type WsItem,
} from '../../../src/protocol/blastbeat/websocket.js';

const MASK = Buffer.from([1, 2, 3, 4]);

/** A client frame with explicit FIN/opcode, masked. */
function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const f = encodeFrame(opcode as Opcode, Buffer.from(payload), MASK);
  if (!fin) f[0] = f[0]! & 0x7f;
  return f;
}

function readAll(reader: WebSocketReader): WsItem[] {
  const out: WsItem[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const item = reader.read();
    if (!item) return out;
    out.push(item);
  }
  throw new Error('reader never ran dry');
}

describe('websocket handshake', () => {
  it('should compute the RFC 6455 example accept key', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('should validate keys and build the 101 response', () => {
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(isValidKey('short')).toBe(false);
    expect(isValidKey(undefined)).toBe(false);
    expect(handshakeResponse('dGhlIHNhbXBsZSBub25jZQ==').toString()).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
  });
});

describe('websocket frames', () => {
  it('should encode unmasked server frames with FIN for each length class', () => {
    expect([...encodeFrame(Opcode.Text, Buffer.from('hi'))]).toEqual([0x81, 2, 0x68, 0x69]);
    const mid = encodeFrame(Opcode.Binary, Buffer.alloc(300));
    expect([...mid.subarray(0, 4)]).toEqual([0x82, 126, 1, 44]);
    const big = encodeFrame(Opcode.Binary, Buffer.alloc(70_000));
    expect([...big.subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    expect([...encodeFrame(Opcode.Pong, Buffer.alloc(0))]).toEqual([0x8a, 0]);
  });

  it('should read text and binary apart, unmasked', () => {
    const r = new WebSocketReader();
    r.push(Buffer.concat([frame(Opcode.Text, 'héllo'), frame(Opcode.Binary, Buffer.from([0, 255]))]));
    expect(readAll(r)).toEqual([
      { kind: 'message', binary: false, data: Buffer.from('héllo') },
      { kind: 'message', binary: true, data: Buffer.from([0, 255]) },
    ]);
  });

  it('should reassemble fragments with a ping between them, split at every byte', () => {
    const wire = Buffer.concat([frame(Opcode.Text, 'ab', false), frame(Opcode.Ping, 'p'), frame(Opcode.Continuation, 'cd')]);
    const r = new WebSocketReader();
    const items: WsItem[] = [];
    for (const byte of wire) {
      r.push(Buffer.from([byte]));
      items.push(...readAll(r));
    }
    expect(items).toEqual([
      { kind: 'ping', data: Buffer.from('p') },
      { kind: 'message', binary: false, data: Buffer.from('abcd') },
    ]);
  });

  it('should read a close with its code and reason', () => {
    const r = new WebSocketReader();
    const payload = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')]);
    r.push(frame(Opcode.Close, payload));
    expect(readAll(r)).toEqual([{ kind: 'close', code: 1000, reason: 'bye' }]);
  });

  it.each([
    ['an unmasked client frame', encodeFrame(Opcode.Text, Buffer.from('x')), CloseCode.ProtocolError],
    ['reserved bits', (() => { const f = frame(Opcode.Text, 'x'); f[0] = f[0]! | 0x40; return f; })(), CloseCode.ProtocolError],
    ['an unknown opcode', frame(0x3, 'x'), CloseCode.ProtocolError],
    ['a fragmented ping', frame(Opcode.Ping, 'x', false), CloseCode.ProtocolError],
    ['a long ping', frame(Opcode.Ping, Buffer.alloc(126)), CloseCode.ProtocolError],
    ['a lone continuation', frame(Opcode.Continuation, 'x'), CloseCode.ProtocolError],
    ['a new message inside a fragmented one', Buffer.concat([frame(Opcode.Text, 'a', false), frame(Opcode.Text, 'b')]), CloseCode.ProtocolError],
    ['invalid UTF-8 text', frame(Opcode.Text, Buffer.from([0xc3, 0x28])), CloseCode.InvalidData],
    ['a close code of one byte', frame(Opcode.Close, Buffer.from([3])), CloseCode.ProtocolError],
    ['a reserved close code', frame(Opcode.Close, Buffer.from([0x03, 0xed])), CloseCode.ProtocolError],
  ])('should fail on %s', (_name, wire, code) => {
    const r = new WebSocketReader();
    r.push(wire);
    expect(readAll(r)).toEqual([expect.objectContaining({ kind: 'error', code })]);
  });

  it('should refuse a message over the size limit before its payload arrives', () => {
    const r = new WebSocketReader({ maxMessageSize: 100 });
    r.push(frame(Opcode.Binary, Buffer.alloc(101)).subarray(0, 8));
    expect(readAll(r)).toEqual([expect.objectContaining({ kind: 'error', code: CloseCode.TooBig })]);
    const f = new WebSocketReader({ maxMessageSize: 100 });
    f.push(Buffer.concat([frame(Opcode.Binary, Buffer.alloc(60), false), frame(Opcode.Continuation, Buffer.alloc(60))]));
    expect(readAll(f)).toEqual([expect.objectContaining({ kind: 'error', code: CloseCode.TooBig })]);
  });

  it('should refuse a 64-bit length beyond 2^31', () => {
    const r = new WebSocketReader();
    r.push(Buffer.from([0x82, 0xff, 0, 0, 0x80, 0, 0, 0, 0, 0]));
    expect(readAll(r)).toEqual([expect.objectContaining({ kind: 'error', code: CloseCode.TooBig })]);
  });

  it('should build close frames with a code and a bounded reason', () => {
    expect([...encodeClose(1000, 'ok')]).toEqual([0x88, 4, 0x03, 0xe8, 0x6f, 0x6b]);
    expect(encodeClose(1001, 'x'.repeat(300)).length).toBe(2 + 125);
  });
});
