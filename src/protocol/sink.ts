/**
 * Events workers push to a sink (butler's "task result sink"): a PUSH socket
 * on the worker, a PULL socket on the sink.
 *
 *   [json]            an event from any pusher (pyzmq's send_json)
 *   [source, json]    an event from a steward worker: source is its service name
 *
 * Any JSON value is an event. Size and nesting are bounded; what does not
 * decode is a Rejection the socket adapter counts as a drop.
 */
import { decodingCodec, reject, type Codec, type Rejection } from './codec.js';
import { parseJson, type JsonLimits, type JsonValue } from './json.js';

export const DEFAULT_SINK_PORT = 5558;
export const DEFAULT_SINK_ENDPOINT = `tcp://127.0.0.1:${DEFAULT_SINK_PORT}`;
export const MAX_SOURCE_LENGTH = 255;
export const DEFAULT_SINK_LIMITS: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: 32 };

export interface SinkEvent {
  readonly type: 'sink.event';
  /** Who sent it, when it said so (steward workers send their service name). */
  readonly source: string | undefined;
  readonly data: JsonValue;
}

/** Frames for one event; throws a TypeError for values with no JSON form, a RangeError past the size limit. */
export function encodeSinkEvent(source: string, data: JsonValue, maxBytes: number = DEFAULT_SINK_LIMITS.maxBytes): Buffer[] {
  const text = JSON.stringify(data);
  if (text === undefined) throw new TypeError('a sink event must be a JSON value');
  const json = Buffer.from(text);
  if (json.length > maxBytes) throw new RangeError(`sink event of ${json.length} bytes > ${maxBytes}`);
  return [Buffer.from(source), json];
}

export function decodeSinkFrames(frames: Buffer[], limits: JsonLimits = DEFAULT_SINK_LIMITS): SinkEvent | Rejection {
  if (frames.length < 1 || frames.length > 2) return reject('bad_frame_count', `${frames.length}`);
  let source: string | undefined;
  if (frames.length === 2) {
    const s = frames[0] as Buffer;
    if (s.length === 0 || s.length > MAX_SOURCE_LENGTH) return reject('bad_source');
    source = s.toString('utf8');
  }
  const parsed = parseJson(frames[frames.length - 1] as Buffer, limits);
  if (!parsed.ok) return reject(parsed.reason === 'malformed' ? 'malformed_json' : parsed.reason, parsed.detail);
  return { type: 'sink.event', source, data: parsed.value };
}

/** The sink's PULL socket: events decoded within `limits`, the rest refused. */
export function sinkCodec(limits: JsonLimits = DEFAULT_SINK_LIMITS): Codec<SinkEvent, Buffer[]> {
  return decodingCodec((frames) => decodeSinkFrames(frames, limits));
}
