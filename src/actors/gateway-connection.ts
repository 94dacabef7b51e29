import type * as net from 'node:net';
import type { AnyActorRef } from 'xstate';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import type { Tally } from '../metrics/tally.js';
import type { DropCounter } from '../metrics/drops.js';
import type { LimitName } from '../metrics/limits.js';
import type { GatewayRegistry, SessionHandle } from '../machines/gateway/registry.js';
import type { SessionContext } from '../machines/gateway/session-context.js';
import { backendMessage, clientData } from '../machines/gateway/session-steps.js';
import type { LifeChange, SessionCommand, SessionEvent } from '../machines/gateway/session-types.js';
import type { BackendKind } from '../protocol/blastbeat/message.js';
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

/** Bytes at most joined into one buffer when a connection has several writes in one tick; past it they go as a writev. */
const JOIN_LIMIT = 16 * 1024;

/**
 * Connections written to in this turn of the event loop, flushed together
 * once every read of the turn has been handled (setImmediate): a response
 * is one write, and what several messages of the turn write to one client
 * (WebSocket frames, a head and its chunks arriving in separate reads from
 * the node) is one write too. Measured against flushing after each read
 * (process.nextTick): 64 KiB chunked responses about 15 % less CPU, small
 * ones about 5 %.
 */
let dirty: GatewayConnection[] = [];
let flushScheduled = false;

function flushWrites(): void {
  flushScheduled = false;
  const list = dirty;
  dirty = [];
  for (let i = 0; i < list.length; i++) (list[i] as GatewayConnection).flush();
}

/**
 * One client socket and its gateway-session actor: socket events become
 * `conn.*` events for the session, the session's commands become socket
 * writes, ends and pauses, node messages for the outbox, and binding counts
 * in the registry. The registry reaches the session through this handle,
 * and the session tells it when it ends or crashes (`session.end`,
 * `session.crashed`): what an idle WebSocket keeps is this object and
 * `command`, not an observer or a closure per callback.
 */
export class GatewayConnection implements SessionHandle {
  readonly key: string;
  ref: AnyActorRef | undefined;
  /** The session actor's context: per-message work runs on it directly (`session-steps.ts`). */
  ctx: SessionContext | undefined;
  alive = true;
  /** The node and virtual host the session is bound to (counted in the registry). */
  boundNode: string | undefined = undefined;
  boundVhost = '';
  /** What the session wrote in this turn of the event loop, not yet handed to the socket. */
  private queued: Buffer | Buffer[] | undefined;
  private queuedBytes = 0;

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

  /** Bytes from the client. */
  data(data: Buffer): void {
    const ctx = this.ctx;
    if (!this.alive || ctx === undefined) return;
    let change: LifeChange | undefined;
    try {
      change = clientData(ctx, data);
    } catch (error) {
      this.crash(error);
      return;
    }
    if (change !== undefined) this.ref?.send({ type: change });
  }

  backend(kind: BackendKind, body: Buffer): void {
    const ctx = this.ctx;
    if (!this.alive || ctx === undefined) return;
    let change: LifeChange | undefined;
    try {
      change = backendMessage(ctx, kind, body);
    } catch (error) {
      this.crash(error);
      return;
    }
    if (change !== undefined) this.ref?.send({ type: change });
  }

  /** The per-message code threw: the session's actor fails with it (its supervisor sees it; `error` closes the socket). */
  private crash(error: unknown): void {
    if (this.ref !== undefined && this.ref.getSnapshot().status === 'active') this.ref.send({ type: 'session.crash', error });
    else this.finish(error);
  }

  deadline(): number {
    return this.alive && this.ctx !== undefined ? this.ctx.deadline : 0;
  }

  /** Hands this turn's writes to the socket: one write, or one writev when they are big. */
  flush(): void {
    const queued = this.queued;
    this.queued = undefined;
    const bytes = this.queuedBytes;
    this.queuedBytes = 0;
    const socket = this.socket;
    if (queued === undefined || socket.destroyed) return;
    if (Buffer.isBuffer(queued)) socket.write(queued);
    else if (bytes <= JOIN_LIMIT) socket.write(Buffer.concat(queued, bytes));
    else {
      socket.cork();
      for (let i = 0; i < queued.length; i++) socket.write(queued[i] as Buffer);
      socket.uncork();
    }
    if (socket.writableLength > this.deps.writeQueueLimit) {
      this.deps.drops.drop('slow_client', `${socket.writableLength} bytes queued`);
      socket.destroy();
    }
  }

  private write(data: Buffer): void {
    if (this.socket.destroyed || data.length === 0) return;
    const queued = this.queued;
    if (queued === undefined) {
      this.queued = data;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushWrites);
      }
    } else if (Buffer.isBuffer(queued)) this.queued = [queued, data];
    else queued.push(data);
    this.queuedBytes += data.length;
  }

  node(): string | undefined {
    return this.boundNode;
  }

  /** Carries out one command of the session. */
  readonly command = (cmd: SessionCommand): void => {
    const socket = this.socket;
    switch (cmd.type) {
      case 'conn.write':
        this.write(cmd.data);
        return;
      case 'backend.send':
        if (cmd.kind === 'uwsgi') this.deps.requests?.inc();
        this.deps.outbox.push(cmd.node, this.sid, cmd.kind, cmd.body);
        return;
      case 'conn.end':
        // After what this turn wrote: the end follows the bytes.
        this.flush();
        if (!socket.destroyed) socket.end();
        return;
      case 'conn.pause':
        socket.pause();
        return;
      case 'conn.resume':
        socket.resume();
        return;
      case 'session.bind':
        this.boundNode = cmd.node;
        this.boundVhost = cmd.vhost;
        this.deps.registry.bind(cmd.node, cmd.vhost);
        return;
      case 'session.unbind':
        if (this.boundNode !== undefined) this.deps.registry.unbind(this.boundNode, this.boundVhost);
        this.boundNode = undefined;
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
      case 'session.end':
        this.finish(undefined);
        return;
      case 'session.crashed':
        this.finish(cmd.error);
        return;
    }
  };

  /** The session is over: release what it held, close the socket. */
  finish(crashed: unknown): void {
    if (!this.alive) return;
    this.alive = false;
    this.deps.onFinish(this);
    this.deps.registry.sessions.delete(this.key);
    if (crashed !== undefined) this.deps.log.warn({ err: crashed }, 'session crashed; connection closed');
    if (this.boundNode !== undefined) {
      // A crashed session never unbound itself; tell the node the session is gone.
      const node = this.deps.registry.nodes.get(this.boundNode);
      if (node) this.deps.outbox.push(node.id, this.sid, 'end', Buffer.alloc(0));
      this.deps.registry.unbind(this.boundNode, this.boundVhost);
      this.boundNode = undefined;
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
