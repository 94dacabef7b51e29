/**
 * The gateway's shared tables: virtual hosts (and their aliases) to nodes,
 * node presence, and the live sessions by sid. One instance per gateway
 * tree, read and updated synchronously by the gateway machine (presence,
 * dispatch of backend messages), the sessions (routing) and the HTTP adapter
 * (binding counts): a request never waits for an actor hop to be routed.
 * Plain code: no sockets, no XState.
 */
import type { SessionEvent, RouteDecision } from './session-types.js';
import { NodeTable, type NodeEntry } from './presence.js';

export interface VhostSpec {
  /** `host` or `host:port`, as in `[blastbeat:HOST[:PORT]]`. */
  readonly name: string;
  readonly nodes: readonly string[];
  readonly aliases: readonly string[];
  /** How long a node may take to answer, in ms. */
  readonly timeoutMs: number;
  /** Sessions the host may hold at once; 0 for no limit. */
  readonly maxSessions: number;
}

export interface Vhost {
  readonly name: string;
  readonly nodes: readonly NodeEntry[];
  readonly timeoutMs: number;
  readonly maxSessions: number;
  sessions: number;
}

/** What the registry needs of a live session. */
export interface SessionHandle {
  readonly sid: Buffer;
  send(event: SessionEvent): void;
  /** When the session wants `session.tick` (0: never). */
  deadline(): number;
  /** The node it is bound to. */
  node(): string | undefined;
}

/** Host header value to the lookup key: lower case, surrounding dots and spaces ignored. */
function normalize(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

function withoutPort(host: string): string | undefined {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end >= 0 && end < host.length - 1 ? host.slice(0, end + 1) : undefined;
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? undefined : host.slice(0, colon);
}

export class GatewayRegistry {
  readonly nodes: NodeTable;
  private readonly vhosts = new Map<string, Vhost>();
  readonly list: readonly Vhost[];
  /** Live sessions, keyed by the sid's latin1 string. */
  readonly sessions = new Map<string, SessionHandle>();

  constructor(specs: readonly VhostSpec[], pingFreqMs: number, liveness?: number) {
    this.nodes = new NodeTable(pingFreqMs, liveness);
    const list: Vhost[] = [];
    for (const spec of specs) {
      const vhost: Vhost = {
        name: normalize(spec.name),
        nodes: spec.nodes.map((n) => this.nodes.declare(n)),
        timeoutMs: spec.timeoutMs,
        maxSessions: spec.maxSessions,
        sessions: 0,
      };
      list.push(vhost);
      for (const name of [spec.name, ...spec.aliases]) {
        const key = normalize(name);
        if (this.vhosts.has(key)) throw new Error(`virtual host "${key}" is declared twice`);
        this.vhosts.set(key, vhost);
      }
    }
    this.list = list;
  }

  /** The virtual host for a Host header: exact `host:port` first, then a section without a port. */
  lookup(host: string): Vhost | undefined {
    const key = normalize(host);
    const exact = this.vhosts.get(key);
    if (exact) return exact;
    const bare = withoutPort(key);
    return bare === undefined ? undefined : this.vhosts.get(bare);
  }

  /** Routes a request (the `route` a session is given). */
  readonly route = (host: string, current: string | undefined): RouteDecision => {
    const vhost = this.lookup(host);
    if (vhost === undefined) return { kind: 'unknown-host' };
    if (current !== undefined) {
      // A bound session keeps its node (BlastBeat: a sid always maps to one node) while it lives.
      for (const n of vhost.nodes) {
        if (n.name === current && n.available) return { kind: 'node', node: n.name, id: n.id, vhost: vhost.name, timeoutMs: vhost.timeoutMs };
      }
    }
    if (vhost.maxSessions > 0 && vhost.sessions >= vhost.maxSessions) return { kind: 'full', vhost: vhost.name };
    const node = this.nodes.pick(vhost.nodes);
    if (node === undefined) return { kind: 'no-node', vhost: vhost.name };
    return { kind: 'node', node: node.name, id: node.id, vhost: vhost.name, timeoutMs: vhost.timeoutMs };
  };

  bind(node: string, vhost: string): void {
    const n = this.nodes.get(node);
    if (n) n.sessions += 1;
    const v = this.vhosts.get(vhost);
    if (v) v.sessions += 1;
  }

  unbind(node: string, vhost: string): void {
    const n = this.nodes.get(node);
    if (n && n.sessions > 0) n.sessions -= 1;
    const v = this.vhosts.get(vhost);
    if (v && v.sessions > 0) v.sessions -= 1;
  }

  sidKey(sid: Buffer): string {
    return sid.toString('latin1');
  }
}
