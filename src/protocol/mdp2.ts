/**
 * Majordomo Protocol 0.2 (ZeroMQ RFC 18) constants and frame builders: the
 * MDP/0.1 dialog with streamed replies (zero or more PARTIAL, then one
 * FINAL) and no empty frame before the header. Written from RFC 18's own
 * text; the public C "majordomo" implementations differ from it (one uses a
 * zproto binary codec, an older one reuses 0.1's command codes) and are no
 * reference. Pure: no sockets, no XState.
 *
 *   client -> broker   "MDPC02", 0x01 REQUEST, service, body...
 *   broker -> client   "MDPC02", 0x02 PARTIAL, service, body...
 *                      "MDPC02", 0x03 FINAL,   service, body...
 *   worker -> broker   "MDPW02", 0x01 READY, service
 *                      "MDPW02", 0x03 PARTIAL, envelope, "", body...
 *                      "MDPW02", 0x04 FINAL,   envelope, "", body...
 *                      "MDPW02", 0x05 HEARTBEAT | 0x06 DISCONNECT
 *   broker -> worker   "MDPW02", 0x02 REQUEST, envelope, "", body...
 *                      "MDPW02", 0x05 HEARTBEAT | 0x06 DISCONNECT
 *
 * Through a ROUTER the peer's routing id comes first.
 */
import { EMPTY } from './mdp.js';

export const MDPC02 = 'MDPC02';
export const MDPW02 = 'MDPW02';

export const MDPC02_FRAME = Buffer.from(MDPC02);
export const MDPW02_FRAME = Buffer.from(MDPW02);

export const enum Mdp2Client {
  Request = 0x01,
  Partial = 0x02,
  Final = 0x03,
}

export const enum Mdp2Worker {
  Ready = 0x01,
  Request = 0x02,
  Partial = 0x03,
  Final = 0x04,
  Heartbeat = 0x05,
  Disconnect = 0x06,
}

const BYTES: readonly Buffer[] = [0, 1, 2, 3, 4, 5, 6].map((c) => Buffer.from([c]));

/** The one-byte command frame, one shared Buffer per code. */
function command(code: number): Buffer {
  return BYTES[code] as Buffer;
}

// ---- client side (a DEALER: no empty frame, RFC 18) ----

export function clientRequest2(service: string, body: readonly Buffer[]): Buffer[] {
  return [MDPC02_FRAME, command(Mdp2Client.Request), Buffer.from(service), ...body];
}

// ---- worker side ----

export function workerReady2(service: string): Buffer[] {
  return [MDPW02_FRAME, command(Mdp2Worker.Ready), Buffer.from(service)];
}

export function workerPartial2(envelope: Buffer, body: readonly Buffer[]): Buffer[] {
  return [MDPW02_FRAME, command(Mdp2Worker.Partial), envelope, EMPTY, ...body];
}

export function workerFinal2(envelope: Buffer, body: readonly Buffer[]): Buffer[] {
  return [MDPW02_FRAME, command(Mdp2Worker.Final), envelope, EMPTY, ...body];
}

export function workerHeartbeat2(): Buffer[] {
  return [MDPW02_FRAME, command(Mdp2Worker.Heartbeat)];
}

export function workerDisconnect2(): Buffer[] {
  return [MDPW02_FRAME, command(Mdp2Worker.Disconnect)];
}

// ---- broker side, through a ROUTER: the peer's routing id first ----

export function brokerRequest2(worker: Buffer, envelope: Buffer, body: readonly Buffer[]): Buffer[] {
  return [worker, MDPW02_FRAME, command(Mdp2Worker.Request), envelope, EMPTY, ...body];
}

export function brokerHeartbeat2(worker: Buffer): Buffer[] {
  return [worker, MDPW02_FRAME, command(Mdp2Worker.Heartbeat)];
}

export function brokerDisconnect2(worker: Buffer): Buffer[] {
  return [worker, MDPW02_FRAME, command(Mdp2Worker.Disconnect)];
}

export function brokerClientPartial2(client: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, MDPC02_FRAME, command(Mdp2Client.Partial), service, ...body];
}

export function brokerClientFinal2(client: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, MDPC02_FRAME, command(Mdp2Client.Final), service, ...body];
}
