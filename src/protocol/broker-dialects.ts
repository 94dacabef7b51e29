/**
 * How the broker addresses what it sends, one codec object per dialect:
 * MDP/0.1 (RFC 7), MDP/0.2 (RFC 18: streamed replies), butler/ebwrkapi
 * (seed 001/002; its clients speak the tagged wire), and steward's compact
 * wire. The routing core decides who gets what; these decide the frames,
 * partial replies and cancellation included: a dialect that cannot carry
 * them has no `partial` (client) or no `cancel` (worker). Each worker entry
 * and each request keeps its dialect, so a client of any dialect reaches a
 * worker of any wire (docs/wires.md, "Dialect pairs").
 */
import type { ClientDialect, ClientRequest, WorkerWire } from './broker-wire.js';
import { peerKey } from './latin1-cache.js';
import { SYNTHETIC_TAG, brokerButlerHeartbeat, brokerButlerReconnect, brokerButlerRequest } from './butler.js';
import { EMPTY, brokerClientReply, brokerDisconnect, brokerHeartbeat, brokerRequest } from './mdp.js';
import { brokerClientFinal2, brokerClientPartial2, brokerDisconnect2, brokerHeartbeat2, brokerRequest2 } from './mdp2.js';
import {
  clientPartialUnit,
  clientReplyUnit,
  disconnectUnit,
  heartbeatUnit,
  workerCancelUnit,
  workerRequestUnit,
  workerStreamUnit,
  workerWindowUnit,
} from './steward-wire.js';
import { tagHeader, taggedReply } from './tagged.js';

/** Where the broker's frames go: per socket, compact-wire units batched per peer. */
export interface BrokerOutput {
  /** One message through socket `via`; the routing id is the first frame. */
  send(via: string, frames: Buffer[]): void;
  /** A compact-wire unit for `peer` (whose routing id as latin1 is `key`); units to one peer share a message. */
  sendUnit(via: string, peer: Buffer, key: string, unit: Buffer[]): void;
}

/** What the broker needs to answer a client request, malformed or not. */
export type Addressee = Pick<ClientRequest, 'peer' | 'dialect' | 'header' | 'steward' | 'replyId'>;

/** What the broker needs to send to a registered worker. */
export interface WorkerAddress {
  readonly id: Buffer;
  /** The routing id as latin1. */
  readonly key: string;
  /** The socket the worker is reached through. */
  readonly via: string;
}

export interface ClientCodec {
  /** A reply (a stream's FINAL one): status 200 carries the worker's body verbatim; MMI answers come this way too. */
  reply(out: BrokerOutput, req: ClientRequest, via: string, status: number, body: readonly Buffer[]): void;
  /**
   * One partial reply of a stream, for requests with `stream` set. Absent when the dialect takes one reply
   * only (MDP/0.1, butler): the broker sends such clients the final reply alone.
   */
  readonly partial?: (out: BrokerOutput, req: ClientRequest, via: string, body: readonly Buffer[]) => void;
  /** A broker-made error answer. False when the dialect has no way to say it (MDP/0.1): the request is only dropped. */
  error(out: BrokerOutput, req: Addressee, via: string, status: number, message: string): boolean;
}

export interface WorkerCodec {
  /** Whether this wire carries the request whole (butler carries one body frame). */
  carries(req: ClientRequest): boolean;
  /**
   * Hands the request to the worker under `token`, which the worker echoes in its reply. For a request
   * with `stream` set, `window` is how many partials the worker may send before it is given more (0:
   * no window); wires without windows ignore it.
   */
  request(out: BrokerOutput, w: WorkerAddress, token: number, req: ClientRequest, expiresAt: number, window: number): void;
  /** Tells the worker nobody waits for `token` any more. Absent when the wire has no such command (MDP, butler). */
  readonly cancel?: (out: BrokerOutput, w: WorkerAddress, token: number) => void;
  /** The stream `token` may send `credit` more partials. Absent when the wire has no window (MDP/0.2). */
  readonly window?: (out: BrokerOutput, w: WorkerAddress, token: number, credit: number) => void;
  heartbeat(out: BrokerOutput, w: WorkerAddress): void;
  /** "Register again": MDP's DISCONNECT, butler's RECONNECT, the compact wire's DISCONNECT. */
  goodbye(out: BrokerOutput, w: WorkerAddress): void;
}

export interface Dialect {
  readonly client: ClientCodec;
  readonly worker: WorkerCodec;
}

/** MDP and butler workers get the token where their protocol has the client's address. */
function envelope(token: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(token >>> 0, 0);
  return b;
}

export const MDP: Dialect = {
  client: {
    reply: (out, req, via, _status, body) => out.send(via, brokerClientReply(req.peer, req.serviceFrame, body)),
    error: () => false,
  },
  worker: {
    carries: () => true,
    request: (out, w, token, req) => out.send(w.via, brokerRequest(w.id, envelope(token), req.body)),
    heartbeat: (out, w) => out.send(w.via, brokerHeartbeat(w.id)),
    goodbye: (out, w) => out.send(w.via, brokerDisconnect(w.id)),
  },
};

/** RFC 18: PARTIAL and FINAL to clients; workers hold one request each and know no window or cancel. */
export const MDP2: Dialect = {
  client: {
    reply: (out, req, via, _status, body) => out.send(via, brokerClientFinal2(req.peer, req.serviceFrame, body)),
    partial: (out, req, via, body) => out.send(via, brokerClientPartial2(req.peer, req.serviceFrame, body)),
    error: () => false,
  },
  worker: {
    carries: () => true,
    request: (out, w, token, req) => out.send(w.via, brokerRequest2(w.id, envelope(token), req.body)),
    heartbeat: (out, w) => out.send(w.via, brokerHeartbeat2(w.id)),
    goodbye: (out, w) => out.send(w.via, brokerDisconnect2(w.id)),
  },
};

export const BUTLER: Dialect = {
  client: {
    reply: (out, req, via, status, body) => out.send(via, taggedReply(req.peer, req.header as Buffer, req.steward, status, body)),
    error: (out, req, via, status, message) => {
      // butler clients read the status from the body's prefix; the STW1 tag has a status frame of its own.
      const body = req.steward ? [Buffer.from(message)] : [Buffer.from(`${status}:${message}`)];
      out.send(via, taggedReply(req.peer, req.header as Buffer, req.steward, status, body));
      return true;
    },
  },
  worker: {
    carries: (req) => req.body.length <= 1,
    request: (out, w, token, req, expiresAt) => {
      // MDP clients have neither a request id nor an expiration frame: make them up.
      const header = req.header ?? tagHeader(SYNTHETIC_TAG, String(token));
      const expiration = req.expiration ?? Buffer.from(String(expiresAt));
      out.send(w.via, brokerButlerRequest(w.id, envelope(token), header, req.serviceFrame, expiration, req.body[0] ?? EMPTY));
    },
    heartbeat: (out, w) => out.send(w.via, brokerButlerHeartbeat(w.id)),
    goodbye: (out, w) => out.send(w.via, brokerButlerReconnect(w.id)),
  },
};

export const STEWARD: Dialect = {
  client: {
    reply: (out, req, via, status, body) => out.sendUnit(via, req.peer, peerKey(req.peer), clientReplyUnit(req.replyId, status, body)),
    partial: (out, req, via, body) => out.sendUnit(via, req.peer, peerKey(req.peer), clientPartialUnit(req.replyId, body)),
    error: (out, req, via, status, message) => {
      out.sendUnit(via, req.peer, peerKey(req.peer), clientReplyUnit(req.replyId, status, [Buffer.from(message)]));
      return true;
    },
  },
  worker: {
    carries: () => true,
    request: (out, w, token, req, _expiresAt, window) =>
      out.sendUnit(w.via, w.id, w.key, req.stream ? workerStreamUnit(token, window, req.body) : workerRequestUnit(token, req.body)),
    cancel: (out, w, token) => out.sendUnit(w.via, w.id, w.key, workerCancelUnit(token)),
    window: (out, w, token, credit) => out.sendUnit(w.via, w.id, w.key, workerWindowUnit(token, credit)),
    heartbeat: (out, w) => out.sendUnit(w.via, w.id, w.key, heartbeatUnit()),
    goodbye: (out, w) => out.sendUnit(w.via, w.id, w.key, disconnectUnit()),
  },
};

const BY_CLIENT: Readonly<Record<ClientDialect, ClientCodec>> = { mdp: MDP.client, mdp2: MDP2.client, tagged: BUTLER.client, steward: STEWARD.client };
const BY_WIRE: Readonly<Record<WorkerWire, WorkerCodec>> = { mdp: MDP.worker, mdp2: MDP2.worker, butler: BUTLER.worker, steward: STEWARD.worker };

export function clientCodec(dialect: ClientDialect): ClientCodec {
  return BY_CLIENT[dialect];
}

export function workerCodec(wire: WorkerWire): WorkerCodec {
  return BY_WIRE[wire];
}
