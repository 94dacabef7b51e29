/**
 * The butler / ebwrkapi client wire (seed 001, 002), which steward's own client
 * speaks too because it carries what MDP/0.1 lacks: a request id (so a late
 * reply to an abandoned attempt is never taken for the answer to a new one)
 * and an expiration (so the broker never hands out a request nobody awaits).
 *
 *   client -> broker: "", "<tag>:<request id>", service, expiration ms (ASCII), body...
 *   broker -> client: "", "<tag>:<request id>", body                (butler, ebwrkapi)
 *   broker -> client: "", "STW1:<request id>", status, body...      (steward dialect)
 *
 * The tag is the client's API version (butler "0.3.0", ebwrkapi "EBv1", steward
 * "STW1"); any `<tag>:<id>` is accepted, and the steward tag adds a status frame
 * so broker errors can never be mistaken for a service's reply.
 */
import { EMPTY } from './mdp.js';
import { statusFrame } from './status.js';

export const STEWARD_TAG = 'STW1';
export const STEWARD_TAG_FRAME_PREFIX = `${STEWARD_TAG}:`;


export const MAX_TAG_LENGTH = 32;
export const MAX_REQUEST_ID_LENGTH = 64;

/** Splits "<tag>:<id>" at the first ':' (ids may contain ':'), or returns undefined. */
export function parseTagHeader(header: Buffer): { tag: string; id: string } | undefined {
  if (header.length === 0 || header.length > MAX_TAG_LENGTH + 1 + MAX_REQUEST_ID_LENGTH) return undefined;
  const text = header.toString('latin1');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon > MAX_TAG_LENGTH) return undefined;
  return { tag: text.slice(0, colon), id: text.slice(colon + 1) };
}

export function tagHeader(tag: string, id: string): Buffer {
  return Buffer.from(`${tag}:${id}`, 'latin1');
}

/** What a client sends (DEALER: leading empty frame included). */
export function taggedRequest(tag: string, id: string, service: string, expiresAt: number, body: readonly Buffer[]): Buffer[] {
  return [EMPTY, tagHeader(tag, id), Buffer.from(service), Buffer.from(String(Math.trunc(expiresAt))), ...body];
}

/** Broker to a tagged client, through the frontend ROUTER. */
export function taggedReply(client: Buffer, header: Buffer, steward: boolean, status: number, body: readonly Buffer[]): Buffer[] {
  if (steward) return [client, EMPTY, header, statusFrame(status), ...body];
  return [client, EMPTY, header, ...body];
}

export function isStewardTag(tag: string): boolean {
  return tag === STEWARD_TAG;
}
