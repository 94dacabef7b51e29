import { describe, expect, it } from 'vitest';
import { DEFAULT_JSON_LIMITS } from '../../../src/protocol/json.js';
import { decodeRpcReply, decodeRpcRequest, encodeRpcException, encodeRpcRequest, encodeRpcResult } from '../../../src/protocol/rpc.js';

const limits = DEFAULT_JSON_LIMITS;
const frame = (s: string) => [Buffer.from(s)];

describe('butler RPC payload', () => {
  it('should round-trip a request {"method","args","kwargs"}', () => {
    const body = encodeRpcRequest('resize_image', ['a.png', '150x180'], { quality: 80 });
    expect(JSON.parse(body.toString())).toEqual({ method: 'resize_image', args: ['a.png', '150x180'], kwargs: { quality: 80 } });
    expect(decodeRpcRequest([body], limits)).toEqual({ type: 'rpc.request', method: 'resize_image', args: ['a.png', '150x180'], kwargs: { quality: 80 } });
  });

  it('should default args and kwargs when a caller leaves them out', () => {
    expect(decodeRpcRequest(frame('{"method":"info"}'), limits)).toEqual({ type: 'rpc.request', method: 'info', args: [], kwargs: {} });
  });

  it.each([
    ['no frame', [], /one JSON frame, got 0/],
    ['two frames', [Buffer.from('{}'), Buffer.from('{}')], /one JSON frame, got 2/],
    ['not JSON', frame('resize please'), /not acceptable JSON \(malformed/],
    ['too deep', frame(`{"method":"m","args":${'['.repeat(40)}${']'.repeat(40)}}`), /too_deep/],
    ['an array', frame('["m"]'), /must be a JSON object/],
    ['no method', frame('{"args":[]}'), /"method" must be a name/],
    ['an empty method', frame('{"method":""}'), /"method" must be a name/],
    ['args not an array', frame('{"method":"m","args":{}}'), /"args" must be an array/],
    ['kwargs not an object', frame('{"method":"m","kwargs":[1]}'), /"kwargs" must be an object/],
  ])('should refuse a request with %s', (_name, body, message) => {
    const decoded = decodeRpcRequest(body, limits);
    expect(decoded.type).toBe('rpc.bad_request');
    expect((decoded as { message: string }).message).toMatch(message);
  });

  it('should encode results as JSON, undefined as null, and the number 404 so it never reads as "no such method"', () => {
    expect(encodeRpcResult({ a: 1 })).toBe('{"a":1}');
    expect(encodeRpcResult(undefined)).toBe('null');
    expect(encodeRpcResult('404')).toBe('"404"');
    const n = encodeRpcResult(404)!;
    expect(n).not.toBe('404');
    expect(decodeRpcReply(frame(n), limits)).toEqual({ type: 'rpc.result', value: 404 });
    expect(encodeRpcResult(10n)).toBeUndefined();
  });

  it('should encode a thrown error as "500:exception:" + {name, message, traceback} and read it back', () => {
    const body = encodeRpcException(new TypeError('resize_image() takes exactly 2 arguments (0 given)'));
    expect(body.toString()).toMatch(/^500:exception:\{"name":"TypeError","message":"resize_image\(\) takes exactly 2 arguments \(0 given\)","traceback":"TypeError: /);
    const reply = decodeRpcReply([body], limits);
    expect(reply).toMatchObject({ type: 'rpc.exception', exception: { name: 'TypeError', message: 'resize_image() takes exactly 2 arguments (0 given)' } });
    expect(decodeRpcReply([encodeRpcException('just a string')], limits)).toMatchObject({ exception: { name: 'Error', message: 'just a string' } });
  });

  it('should read "404", a pickled exception, and raw text from butler workers', () => {
    expect(decodeRpcReply(frame('404'), limits)).toEqual({ type: 'rpc.not_found' });
    expect(decodeRpcReply(frame('500:exception:cpickle...'), limits)).toEqual({ type: 'rpc.exception', exception: { name: 'Error', message: 'cpickle...', traceback: '' } });
    expect(decodeRpcReply(frame('resized image'), limits)).toEqual({ type: 'rpc.result', value: 'resized image' });
    expect(decodeRpcReply([], limits)).toMatchObject({ type: 'rpc.invalid' });
  });
});
