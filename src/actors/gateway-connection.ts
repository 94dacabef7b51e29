import type * as net from 'node:net';
import type { AnyActorRef } from 'xstate';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import type { Tally } from '../metrics/tally.js';
import type { DropCounter } from '../metrics/drops.js';
import type { LimitName } from '../metrics/limits.js';
import type { GatewayRegistry, SessionHandle } from '../machines/gateway/registry.js';
import type { SessionCommand, SessionEvent } from '../machines/gateway/session-types.js';
import type { GatewayOutbox } from './gateway-outbox.js';

/** What every connection of one listener shares. */
export interface ConnectionDeps {
  readonly registry: GatewayRegistry;
  readonly outbox: GatewayOutbox;
  readonly drops: DropCounter;
  readonly log: Logger;
  /** Bytes queued for a client that does not read before it is cut off. */
  readonly writeQueueLimit: number;
  readonly requests: Tally<string> | undefined;
  readonly errors: Counter<'status' | 'reason'> | undefined;
  /** `steward_limit_hits_total`. */
  readonly limitHits: Counter<'limit'> | undefined;
  /** Called once when the connection's session is over. */
  readonly onFinish: (conn: GatewayConnection) => void;
}

/** The session refusals that are a configured limit being reached. */
const LIMIT_OF: Readonly<Record<string, LimitName>> = {
  vhost_full: 'gateway_vhost_sessions',
  nodes_full: 'gateway_node_sessions',
};

/** Writes of one tick (a burst of WebSocket messages, pipelined responses) leave as one writev. */
function uncork(conn: GatewayConnection): void {
  conn.corked = false;
  if (!conn.socket.destroyed) conn.socket.uncork();
}

/**
 * One client socket and its gateway-session actor: socket events become
 * `conn.*` events for the session, the session's commands become socket
 * writes, ends and pauses, node messages for the outbox, and binding counts
 * in the registry. The registry reaches the session through this handle,
 * and the connection observes its session (`complete`, `error`): what an
 * idle WebSocket keeps is this object and `command`, not a closure per
 * callback.
 */
export class GatewayConnection implements SessionHandle {
  readonly key: string;
  ref: AnyActorRef | undefined;
  alive = true;
  bound: { node: string; vhost: string } | undefined;
  corked = false;

  constructor(
    readonly socket: net.Socket,
    readonly sid: Buffer,
    private readonly deps: ConnectionDeps,
  ) {
    this.key = sid.toString('latin1');
  }

  send(event: SessionEvent): void {
    if (this.alive) this.ref?.send(event);
  }

  deadline(): number {
    if (!this.alive || this.ref === undefined) return 0;
    return (this.ref.getSnapshot() as { context: { deadline: number } }).context.deadline;
  }

  node(): string | undefined {
    return this.bound?.node;
  }

  /** Carries out one command of the session. */
  readonly command = (cmd: SessionCommand): void => {
    const socket = this.socket;
    switch (cmd.type) {
      case 'conn.write':
        if (socket.destroyed) return;
        if (!this.corked) {
          this.corked = true;
          socket.cork();
          process.nextTick(uncork, this);
        }
        socket.write(cmd.data);
        if (socket.writableLength > this.deps.writeQueueLimit) {
          this.deps.drops.drop('slow_client', `${socket.writableLength} bytes queued`);
          socket.destroy();
        }
        return;
      case 'backend.send':
        if (cmd.kind === 'uwsgi') this.deps.requests?.inc();
        this.deps.outbox.push(cmd.node, this.sid, cmd.kind, cmd.body);
        return;
      case 'conn.end':
        if (!socket.destroyed) socket.end();
        return;
      case 'conn.pause':
        socket.pause();
        return;
      case 'conn.resume':
        socket.resume();
        return;
      case 'session.bind':
        this.bound = { node: cmd.node, vhost: cmd.vhost };
        this.deps.registry.bind(cmd.node, cmd.vhost);
        return;
      case 'session.unbind':
        if (this.bound !== undefined) this.deps.registry.unbind(this.bound.node, this.bound.vhost);
        this.bound = undefined;
        return;
      case 'session.error':
        this.deps.errors?.inc({ status: String(cmd.status), reason: cmd.reason });
        if (this.deps.limitHits !== undefined) {
          const limit = LIMIT_OF[cmd.reason];
          if (limit !== undefined) this.deps.limitHits.inc({ limit });
        }
        this.deps.log.debug({ status: cmd.status, reason: cmd.reason, remote: socket.remoteAddress }, 'request refused or cut');
        return;
      case 'session.drop':
        this.deps.drops.drop(cmd.reason);
        return;
    }
  };

  /** The session reached its final state. */
  complete(): void {
    this.finish(undefined);
  }

  /** The session crashed. */
  error(crashed: unknown): void {
    this.finish(crashed);
  }

  /** The session is over: release what it held, close the socket. */
  finish(crashed: unknown): void {
    if (!this.alive) return;
    this.alive = false;
    this.deps.onFinish(this);
    this.deps.registry.sessions.delete(this.key);
    if (crashed !== undefined) this.deps.log.warn({ err: crashed }, 'session crashed; connection closed');
    if (this.bound !== undefined) {
      // A crashed session never unbound itself; tell the node the session is gone.
      const node = this.deps.registry.nodes.get(this.bound.node);
      if (node) this.deps.outbox.push(node.id, this.sid, 'end', Buffer.alloc(0));
      this.deps.registry.unbind(this.bound.node, this.bound.vhost);
      this.bound = undefined;
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
