/**
 * What a worker's DEALER receives from the broker, in MDP/0.1:
 *   "", "MDPW01", 0x02 REQUEST, envelope, "", body...
 *   "", "MDPW01", 0x04 HEARTBEAT
 *   "", "MDPW01", 0x05 DISCONNECT
 * or in steward's compact wire (protocol/steward-wire.ts): [header, body...].
 */
import { decodingCodec, reject, type Codec, type Decoded, type Rejection } from './codec.js';
import { EMPTY, MDPW01_FRAME, MdpCommand } from './mdp.js';
import { decodeUnits, isStewardHeader, Kind, PONG_DRAINING } from './steward-wire.js';

export type WorkerInbound =
  /**
   * A request. MDP: `envelope` is echoed in the reply (token -1). Compact wire: `token` is, and the
   * envelope is empty; `stream` says its client takes partial replies, `window` how many before a
   * `broker.window` (0: no window).
   */
  | {
      readonly type: 'broker.request';
      readonly envelope: Buffer;
      readonly token: number;
      readonly stream: boolean;
      readonly window: number;
      readonly body: Buffer[];
    }
  /** steward brokers only: the stream `token` may send `credit` more partial replies. */
  | { readonly type: 'broker.window'; readonly token: number; readonly credit: number }
  /** steward brokers only: nobody waits for `token` any more; end it (the reply is dropped). */
  | { readonly type: 'broker.cancel'; readonly token: number }
  | { readonly type: 'broker.heartbeat' }
  | { readonly type: 'broker.disconnect' }
  /** steward brokers only: the credit this worker asked for is applied (the echo of its WORKER_CREDIT). */
  | { readonly type: 'broker.credit'; readonly credit: number }
  /** steward brokers only: the answer to a PING. */
  | { readonly type: 'broker.pong'; readonly nonce: number; readonly draining: boolean };

/** Frames in one message to a worker; a longer one is refused whole. */
export const WORKER_MAX_FRAMES = 256;

export function decodeWorkerFrames(frames: Buffer[], maxFrames = WORKER_MAX_FRAMES): Decoded<WorkerInbound> {
  const n = frames.length;
  if (n > maxFrames) return reject('too_many_frames');
  if (n >= 1 && isStewardHeader(frames[0] as Buffer)) return decodeSteward(frames);
  if (n < 3) return reject('too_few_frames');
  if ((frames[0] as Buffer).length !== 0) return reject('missing_delimiter');
  if (!(frames[1] as Buffer).equals(MDPW01_FRAME)) return reject('not_mdp_worker_protocol');
  const command = frames[2] as Buffer;
  if (command.length !== 1) return reject('bad_command_frame');
  switch (command[0]) {
    case MdpCommand.Request:
      if (n < 5 || (frames[4] as Buffer).length !== 0) return reject('bad_request');
      return { type: 'broker.request', envelope: frames[3] as Buffer, token: -1, stream: false, window: 0, body: frames.slice(5) };
    case MdpCommand.Heartbeat:
      return { type: 'broker.heartbeat' };
    case MdpCommand.Disconnect:
      return { type: 'broker.disconnect' };
    default:
      return reject('unknown_command');
  }
}

/** steward's compact wire from the broker: [units...]. */
function decodeSteward(frames: Buffer[]): Decoded<WorkerInbound> {
  const out: (WorkerInbound | Rejection)[] = [];
  decodeUnits(frames, 0, (m) => {
    if ('type' in m) out.push(m);
    else if (m.kind === Kind.WorkerRequest) out.push({ type: 'broker.request', envelope: EMPTY, token: m.token, stream: m.stream, window: m.window, body: m.body });
    else if (m.kind === Kind.WorkerWindow) out.push({ type: 'broker.window', token: m.token, credit: m.credit });
    else if (m.kind === Kind.WorkerCancel) out.push({ type: 'broker.cancel', token: m.token });
    else if (m.kind === Kind.Heartbeat) out.push({ type: 'broker.heartbeat' });
    else if (m.kind === Kind.Disconnect) out.push({ type: 'broker.disconnect' });
    else if (m.kind === Kind.WorkerCredit) out.push({ type: 'broker.credit', credit: m.credit });
    else if (m.kind === Kind.Pong) out.push({ type: 'broker.pong', nonce: m.nonce, draining: (m.flags & PONG_DRAINING) !== 0 });
    else out.push(reject('sw_unexpected_kind'));
  });
  return out.length === 1 ? (out[0] as WorkerInbound | Rejection) : out;
}

/** A worker's DEALER to a broker: MDP/0.1 or the compact wire in, frames the worker built out. */
export const workerCodec: Codec<WorkerInbound, Buffer[]> = decodingCodec((frames) => decodeWorkerFrames(frames, WORKER_MAX_FRAMES));
