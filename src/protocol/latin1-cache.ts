/**
 * Strings the broker makes per message, made once: a routing id as a map key
 * (`peerKey`) and a service name read from a compact-wire header
 * (`latin1Name`). At a hundred thousand requests a second, a new string per
 * request and per reply was a visible share of the broker's garbage (its
 * profile: `latin1Slice` 3 %, the collector 28 %). A burst from one peer
 * arrives with one routing-id Buffer for all its messages (steward's ZMTP
 * ROUTER hands the same object), and a burst of requests names few services,
 * so a couple of remembered entries answer nearly every call. (A routing id
 * Buffer is never written to after it is received, so its identity stands for
 * its bytes.)
 */

const PEERS = 4;
const peers: (Buffer | undefined)[] = new Array<Buffer | undefined>(PEERS).fill(undefined);
const peerKeys: string[] = new Array<string>(PEERS).fill('');
let nextPeer = 0;

/** `peer.toString('latin1')`, remembered by the Buffer's identity. */
export function peerKey(peer: Buffer): string {
  for (let i = 0; i < PEERS; i++) if (peers[i] === peer) return peerKeys[i] as string;
  const key = peer.toString('latin1');
  peers[nextPeer] = peer;
  peerKeys[nextPeer] = key;
  nextPeer = (nextPeer + 1) % PEERS;
  return key;
}

const NAMES = 8;
const names: string[] = new Array<string>(NAMES).fill('');
let nextName = 0;

function same(name: string, b: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== b[start + i]) return false;
  return true;
}

/** `b.toString('latin1', start, end)`, the same string for the same bytes while it is remembered. */
export function latin1Name(b: Buffer, start: number, end: number): string {
  for (let i = 0; i < NAMES; i++) if (same(names[i] as string, b, start, end)) return names[i] as string;
  const name = b.toString('latin1', start, end);
  names[nextName] = name;
  nextName = (nextName + 1) % NAMES;
  return name;
}
