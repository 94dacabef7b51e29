/**
 * The butler / ebwrkapi worker wire (seeds 001 and 002, butler 0.3.0), which
 * the steward broker serves beside MDP on the same backend socket. A butler
 * worker is a DEALER that sends no empty delimiter and no protocol header, so
 * its second frame (after the routing id the ROUTER adds) is a one-byte
 * command; MDP peers and clients always have an empty frame there.
 *
 *   worker -> broker: READY     "\x01", service
 *                     HEARTBEAT "\x02"
 *                     REPLY     "\x04", envelope, "", "<api>:<id>", body
 *   broker -> worker: request   envelope, "", "<api>:<id>", service, expiration ms, body   (6 frames)
 *                     HEARTBEAT "\x02"
 *                     RECONNECT "\x03"   (register again; MDP's DISCONNECT)
 *
 * The envelope is what butler called the client address: steward puts an
 * opaque token there, and the worker echoes it back in REPLY.
 */
import { EMPTY } from './mdp.js';

export const enum ButlerCommand {
  Ready = 0x01,
  Heartbeat = 0x02,
  Reconnect = 0x03,
  Reply = 0x04,
}

const frameOf = (c: ButlerCommand) => Buffer.from([c]);
export const BUTLER_READY = frameOf(ButlerCommand.Ready);
export const BUTLER_HEARTBEAT = frameOf(ButlerCommand.Heartbeat);
export const BUTLER_RECONNECT = frameOf(ButlerCommand.Reconnect);
export const BUTLER_REPLY = frameOf(ButlerCommand.Reply);

/** butler's own timing: heartbeat every second, a worker is lost after 3 s of silence. */
export const BUTLER_HEARTBEAT_INTERVAL_MS = 1000;

/** The tag of the request id the broker makes up for MDP clients, which have none. */
export const SYNTHETIC_TAG = 'MDPC01';

// ---- Worker side (what a butler worker sends; used by test peers and tools) ----

export function butlerReady(service: string): Buffer[] {
  return [BUTLER_READY, Buffer.from(service)];
}

export function butlerHeartbeat(): Buffer[] {
  return [BUTLER_HEARTBEAT];
}

export function butlerReply(envelope: Buffer, header: Buffer, body: Buffer): Buffer[] {
  return [BUTLER_REPLY, envelope, EMPTY, header, body];
}

// ---- Broker side, through a ROUTER: the first frame is the worker's routing id ----

/**
 * The 6-frame request. butler carries one body frame: the broker refuses a
 * request with several (BUTLER.worker.carries), and sends none as an empty frame.
 */
export function brokerButlerRequest(worker: Buffer, envelope: Buffer, header: Buffer, service: Buffer, expiration: Buffer, body: Buffer): Buffer[] {
  return [worker, envelope, EMPTY, header, service, expiration, body];
}

export function brokerButlerHeartbeat(worker: Buffer): Buffer[] {
  return [worker, BUTLER_HEARTBEAT];
}

export function brokerButlerReconnect(worker: Buffer): Buffer[] {
  return [worker, BUTLER_RECONNECT];
}
