/**
 * ZAP (ZeroMQ RFC 27), pure: a request's frames in, the reply's frames and
 * the decision out. libzmq asks the handler bound at `inproc://zeromq.zap.01`
 * each time a peer completes a CURVE handshake with a socket whose
 * `zapDomain` is set; a reply other than 200 closes that connection before a
 * single message of the peer reaches the application.
 *
 *   request: "1.0", request id, domain, address, identity, mechanism, credentials...
 *   reply:   "1.0", request id, status code, status text, user id, metadata
 *
 * For CURVE the one credential is the client's 32-byte public key.
 */
import { reject, type Rejection } from '../protocol/codec.js';
import { CURVE_KEY_BYTES, z85Encode } from './z85.js';

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
export const ZAP_VERSION = '1.0';

export interface ZapRequest {
  readonly type: 'zap.request';
  readonly requestId: Buffer;
  readonly domain: string;
  /** The peer's IP address, as libzmq reports it (no port). */
  readonly address: string;
  readonly identity: Buffer;
  readonly mechanism: string;
  readonly credentials: readonly Buffer[];
}

/** What the server decided about one handshake; refusals are logged and counted by the caller. */
export type ZapDecision =
  | { readonly allowed: true; readonly domain: string; readonly address: string; readonly key: string }
  | {
      readonly allowed: false;
      readonly reason: ZapRefusalReason;
      readonly domain: string;
      readonly address: string;
      readonly mechanism: string;
      /** Z85 of the client's key, when it sent one. */
      readonly key: string | undefined;
    };

export type ZapRefusalReason =
  /** A well-formed CURVE client whose public key is not on the allow-list. */
  | 'unknown_key'
  /** Not CURVE (or CURVE without a key): steward's ZAP domains are CURVE-only. */
  | 'mechanism'
  /** No server registered this domain (it is starting or stopping): refuse rather than let anyone in. */
  | 'no_policy'
  /** Not a ZAP 1.0 request. */
  | 'malformed';

export interface ZapPolicy {
  /** Z85 public keys allowed in. */
  readonly allowed: ReadonlySet<string>;
}

export const ZapStatus = { Ok: '200', Refused: '400', Failure: '500' } as const;

const MAX_DOMAIN = 254;
const MAX_ADDRESS = 255;
const MAX_MECHANISM = 20;

export function decodeZapRequest(frames: readonly Buffer[]): ZapRequest | Rejection {
  if (frames.length < 6) return reject('zap_too_few_frames', `${frames.length}`);
  if (frames.length > 16) return reject('zap_too_many_frames', `${frames.length}`);
  const [version, requestId, domain, address, identity, mechanism] = frames as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  if (version.toString('latin1') !== ZAP_VERSION) return reject('zap_bad_version', version.toString('latin1').slice(0, 16));
  if (domain.length > MAX_DOMAIN || address.length > MAX_ADDRESS || mechanism.length > MAX_MECHANISM) return reject('zap_frame_too_long');
  return {
    type: 'zap.request',
    requestId,
    domain: domain.toString('latin1'),
    address: address.toString('latin1'),
    identity,
    mechanism: mechanism.toString('latin1'),
    credentials: frames.slice(6),
  };
}

/** The allow-list decision for one well-formed request. */
export function decideZap(request: ZapRequest, policy: ZapPolicy | undefined): ZapDecision {
  const { domain, address, mechanism } = request;
  const credential = request.credentials[0];
  const key = credential !== undefined && credential.length === CURVE_KEY_BYTES ? z85Encode(credential) : undefined;
  if (mechanism !== 'CURVE' || key === undefined || request.credentials.length !== 1) {
    return { allowed: false, reason: 'mechanism', domain, address, mechanism, key };
  }
  if (!policy) return { allowed: false, reason: 'no_policy', domain, address, mechanism, key };
  if (!policy.allowed.has(key)) return { allowed: false, reason: 'unknown_key', domain, address, mechanism, key };
  return { allowed: true, domain, address, key };
}

const STATUS_TEXT: Record<ZapRefusalReason, string> = {
  unknown_key: 'public key not on the allow-list',
  mechanism: 'CURVE required',
  no_policy: 'server not ready',
  malformed: 'malformed ZAP request',
};

/** Reply frames for a decision; the user id of an allowed peer is its Z85 key (readable as message metadata). */
export function zapReply(requestId: Buffer, decision: ZapDecision): Buffer[] {
  const empty = Buffer.alloc(0);
  if (decision.allowed) return [Buffer.from(ZAP_VERSION), requestId, Buffer.from(ZapStatus.Ok), Buffer.from('OK'), Buffer.from(decision.key), empty];
  const status = decision.reason === 'malformed' ? ZapStatus.Failure : ZapStatus.Refused;
  return [Buffer.from(ZAP_VERSION), requestId, Buffer.from(status), Buffer.from(STATUS_TEXT[decision.reason]), empty, empty];
}

/**
 * The whole exchange for one request (frames after the ROUTER envelope).
 * A request too broken to carry a request id gets no reply: libzmq only
 * sends well-formed ones, so that is a bug elsewhere, and the handshake it
 * belongs to times out closed.
 */
export function answerZap(
  frames: readonly Buffer[],
  policyFor: (domain: string) => ZapPolicy | undefined,
): { reply: Buffer[] | undefined; decision: ZapDecision } {
  const request = decodeZapRequest(frames);
  if (request.type === 'rejected') {
    const decision: ZapDecision = {
      allowed: false,
      reason: 'malformed',
      domain: frames[2]?.toString('latin1').slice(0, MAX_DOMAIN) ?? '',
      address: frames[3]?.toString('latin1').slice(0, MAX_ADDRESS) ?? '',
      mechanism: '',
      key: undefined,
    };
    const requestId = frames[1];
    return { reply: requestId === undefined ? undefined : zapReply(requestId, decision), decision };
  }
  const decision = decideZap(request, policyFor(request.domain));
  return { reply: zapReply(request.requestId, decision), decision };
}
