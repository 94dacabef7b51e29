/**
 * The gateway's shared tables: virtual hosts (and their aliases) to nodes,
 * node presence, and the live sessions by sid. One instance per gateway
 * tree, read and updated synchronously by the gateway machine (presence,
 * dispatch of backend messages), the sessions (routing) and the HTTP adapter
 * (binding counts): a request never waits for an actor hop to be routed.
 * Plain code: no sockets, no XState.
 */
import type { SocketPort } from '../../actors/zmq-socket.js';
import type { BackendKind, GatewayOutbound } from '../../protocol/blastbeat/message.js';
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
  /** Answers made once: routing runs per request and allocates nothing. */
  readonly toNode: ReadonlyMap<string, RouteDecision>;
  readonly noNode: RouteDecision;
  readonly full: RouteDecision;
  readonly nodesFull: RouteDecision;
}

export interface RegistryOptions {
  /** Silent ping periods before a node is unavailable. */
  readonly liveness?: number;
  /** Sessions one node may hold at once, over all its virtual hosts; 0 for no limit. */
  readonly maxNodeSessions?: number;
}

const UNKNOWN_HOST: RouteDecision = { kind: 'unknown-host' };

/** What the registry needs of a live session. */
export interface SessionHandle {
  readonly sid: Buffer;
  /** An event for the session's actor (deadlines, a lost node, drain: its life). */
  send(event: SessionEvent): void;
  /** A message from the session's node: per-message work, run at once without an actor event. */
  backend(kind: BackendKind, body: Buffer): void;
  /** When the session wants `session.tick` (0: never). */
  deadline(): number;
  /** The node it is bound to. */
  node(): string | undefined;
}

/** Host header value to the lookup key: lower case, surrounding dots and spaces ignored. */
function normalize(host: string): string {
  const h = host.trim().toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
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
  /**
   * Where messages to the nodes leave: the nodes' ROUTER's port, which the
   * gateway machine records from the adapter's `zmq.ready` (a restarted
   * adapter announces a new one). The sessions' outbox sends a loop turn's
   * messages through it, without an actor event.
   */
  nodesPort: SocketPort<GatewayOutbound> | undefined = undefined;
  readonly maxNodeSessions: number;

  constructor(specs: readonly VhostSpec[], pingFreqMs: number, options: RegistryOptions = {}) {
    this.nodes = new NodeTable(pingFreqMs, options.liveness);
    this.maxNodeSessions = options.maxNodeSessions ?? 0;
    const list: Vhost[] = [];
    for (const spec of specs) {
      const name = normalize(spec.name);
      const nodes = spec.nodes.map((n) => this.nodes.declare(n));
      const vhost: Vhost = {
        name,
        nodes,
        timeoutMs: spec.timeoutMs,
        maxSessions: spec.maxSessions,
        sessions: 0,
        toNode: new Map(nodes.map((n) => [n.name, { kind: 'node', node: n.name, id: n.id, vhost: name, timeoutMs: spec.timeoutMs }])),
        noNode: { kind: 'no-node', vhost: name },
        full: { kind: 'full', vhost: name },
        nodesFull: { kind: 'nodes-full', vhost: name, limit: this.maxNodeSessions },
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
    if (vhost === undefined) return UNKNOWN_HOST;
    if (current !== undefined) {
      // A bound session keeps its node (BlastBeat: a sid always maps to one node) while it lives.
      const kept = this.nodes.get(current);
      if (kept !== undefined && kept.available) {
        const decision = vhost.toNode.get(current);
        if (decision !== undefined) return decision;
      }
    }
    if (vhost.maxSessions > 0 && vhost.sessions >= vhost.maxSessions) return vhost.full;
    const node = this.nodes.pick(vhost.nodes);
    if (node === undefined) return vhost.noNode;
    // The pick has the fewest sessions: when it is at the limit, every available node is.
    if (this.maxNodeSessions > 0 && node.sessions >= this.maxNodeSessions) return vhost.nodesFull;
    return vhost.toNode.get(node.name) ?? vhost.noNode;
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
