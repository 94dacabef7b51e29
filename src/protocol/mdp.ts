/**
 * Majordomo Protocol 0.1 (ZeroMQ RFC 7) constants and frame builders, plus
 * MMI (RFC 8) status codes. Pure: no sockets, no XState.
 */

export const MDPC01 = 'MDPC01';
export const MDPW01 = 'MDPW01';

export const MDPC01_FRAME = Buffer.from(MDPC01);
export const MDPW01_FRAME = Buffer.from(MDPW01);
export const EMPTY = Buffer.alloc(0);

export const enum MdpCommand {
  Ready = 0x01,
  Request = 0x02,
  Reply = 0x03,
  Heartbeat = 0x04,
  Disconnect = 0x05,
}

const commandFrames: Record<number, Buffer> = {
  [MdpCommand.Ready]: Buffer.from([MdpCommand.Ready]),
  [MdpCommand.Request]: Buffer.from([MdpCommand.Request]),
  [MdpCommand.Reply]: Buffer.from([MdpCommand.Reply]),
  [MdpCommand.Heartbeat]: Buffer.from([MdpCommand.Heartbeat]),
  [MdpCommand.Disconnect]: Buffer.from([MdpCommand.Disconnect]),
};

export function commandFrame(command: MdpCommand): Buffer {
  return commandFrames[command] as Buffer;
}

export const MDP_HEARTBEAT_INTERVAL_MS = 2500;
export const MDP_HEARTBEAT_LIVENESS = 3;

export const MMI_PREFIX = 'mmi.';
export const MMI_OK = '200';
export const MMI_NOT_FOUND = '404';
export const MMI_NOT_IMPLEMENTED = '501';

/** The steward extension to READY: an optional frame after the service name with the worker's credit. */
export const MAX_CREDIT = 10_000;

// ---- Worker side (what a worker sends and receives; the broker mirrors these) ----

/** DEALER worker to broker: READY with an optional credit frame (steward extension; MDP peers omit it). */
export function workerReady(service: string, credit?: number): Buffer[] {
  const frames = [EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Ready), Buffer.from(service)];
  if (credit !== undefined && credit !== 1) frames.push(Buffer.from(String(credit)));
  return frames;
}

export function workerReply(envelope: Buffer, body: readonly Buffer[]): Buffer[] {
  return [EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Reply), envelope, EMPTY, ...body];
}

export function workerHeartbeat(): Buffer[] {
  return [EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Heartbeat)];
}

export function workerDisconnect(): Buffer[] {
  return [EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Disconnect)];
}

// ---- Broker side, addressed through a ROUTER: the first frame is the peer's routing id ----

export function brokerRequest(worker: Buffer, envelope: Buffer, body: readonly Buffer[]): Buffer[] {
  return [worker, EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Request), envelope, EMPTY, ...body];
}

export function brokerHeartbeat(worker: Buffer): Buffer[] {
  return [worker, EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Heartbeat)];
}

export function brokerDisconnect(worker: Buffer): Buffer[] {
  return [worker, EMPTY, MDPW01_FRAME, commandFrame(MdpCommand.Disconnect)];
}

export function brokerClientReply(client: Buffer, service: Buffer, body: readonly Buffer[]): Buffer[] {
  return [client, EMPTY, MDPC01_FRAME, service, ...body];
}

// ---- Client side ----

/** DEALER client to broker (a REQ socket adds the empty delimiter itself: drop the first frame). */
export function clientRequest(service: string, body: readonly Buffer[]): Buffer[] {
  return [EMPTY, MDPC01_FRAME, Buffer.from(service), ...body];
}
