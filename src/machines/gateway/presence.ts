/**
 * Which backend nodes are there (docs/gateway.md "Presence and routing"): a node is available after its
 * first `pong` and unavailable after `liveness` x `ping-freq` of silence; any
 * message from it counts as being heard. Nodes not heard from for a
 * `ping-freq` are pinged (`ping` with an empty sid). Liveness is timestamps
 * compared on a tick, never a timer per node or per message (docs/architecture.md "Hot path rules").
 * Plain code: no sockets, no XState.
 */

export interface NodeEntry {
  readonly name: string;
  /** The node's routing id on the ROUTER: its name's bytes. */
  readonly id: Buffer;
  available: boolean;
  /** Last message of any kind; -Infinity before the first. */
  lastSeen: number;
  lastPing: number;
  /** Sessions bound to this node now. */
  sessions: number;
  /** Its last pong offered steward's batch extension (`protocol/blastbeat/batch.ts`). */
  readsBatches: boolean;
}

export interface PresenceTick {
  /** Nodes to ping now. */
  readonly ping: readonly NodeEntry[];
  /** Nodes that just became unavailable. */
  readonly lost: readonly NodeEntry[];
}

export type Heard = 'up' | 'seen' | 'unknown';

export const DEFAULT_LIVENESS = 3;

export class NodeTable {
  private readonly byName = new Map<string, NodeEntry>();
  /** Keyed by the routing id's latin1 string: ids are bytes, names are their latin1 reading. */
  private readonly byId = new Map<string, NodeEntry>();

  constructor(
    readonly pingFreqMs: number,
    readonly liveness: number = DEFAULT_LIVENESS,
  ) {}

  /** Registers a configured node name (idempotent: several virtual hosts may share a node). */
  declare(name: string): NodeEntry {
    const existing = this.byName.get(name);
    if (existing) return existing;
    const id = Buffer.from(name, 'latin1');
    const entry: NodeEntry = { name, id, available: false, lastSeen: -Infinity, lastPing: -Infinity, sessions: 0, readsBatches: false };
    this.byName.set(name, entry);
    this.byId.set(id.toString('latin1'), entry);
    return entry;
  }

  get(name: string): NodeEntry | undefined {
    return this.byName.get(name);
  }

  /** The last routing id looked up, by object: a ROUTER hands the same Buffer for every message of a connection. */
  private lastId: Buffer | undefined;
  private lastEntry: NodeEntry | undefined;

  /** Looks a routing id up; undefined for a peer that is no configured node. */
  byRoutingId(id: Buffer): NodeEntry | undefined {
    if (id === this.lastId) return this.lastEntry;
    const entry = this.byId.get(id.toString('latin1'));
    // The table never changes after start (nodes are declared from the configuration), so a hit stays right.
    if (entry !== undefined) {
      this.lastId = id;
      this.lastEntry = entry;
    }
    return entry;
  }

  all(): IterableIterator<NodeEntry> {
    return this.byName.values();
  }

  /** A message from a node: `up` when its pong made it available. */
  heard(node: NodeEntry, now: number, pong: boolean): Heard {
    node.lastSeen = now;
    if (pong && !node.available) {
      node.available = true;
      return 'up';
    }
    return 'seen';
  }

  tick(now: number): PresenceTick {
    const ping: NodeEntry[] = [];
    const lost: NodeEntry[] = [];
    const deadAfter = this.liveness * this.pingFreqMs;
    for (const node of this.byName.values()) {
      if (node.available && now - node.lastSeen >= deadAfter) {
        node.available = false;
        lost.push(node);
      }
      if (now - node.lastSeen >= this.pingFreqMs && now - node.lastPing >= this.pingFreqMs) {
        node.lastPing = now;
        ping.push(node);
      }
    }
    return { ping, lost };
  }

  /** The available node with the fewest sessions, first listed on a tie. */
  pick(candidates: readonly NodeEntry[]): NodeEntry | undefined {
    let best: NodeEntry | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const n = candidates[i] as NodeEntry;
      if (n.available && (best === undefined || n.sessions < best.sessions)) best = n;
    }
    return best;
  }
}
