import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyEventObject } from 'xstate';
import { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { InspectionSource } from './source.js';
import type { ActorView, InspectionDelta, LogEntry } from './types.js';

export interface StatelyBridgeOptions {
  /** The Stately relay's WebSocket, e.g. `ws://localhost:8080` from `@statelyai/inspect/server`. */
  readonly url: string;
  readonly source: InspectionSource;
  readonly logger?: Logger;
  /** Which actors to stream; all tracked ones by default (the socket adapters say little, for example). */
  readonly filter?: (actor: ActorView) => boolean;
  /** Messages are dropped while this many bytes wait unsent: a slow inspector must not grow our memory. */
  readonly maxBuffered?: number;
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
}

export interface StatelyBridge {
  /** Messages sent and dropped so far (tests, logs). */
  readonly stats: () => { sent: number; dropped: number; connected: boolean };
  close(): void;
}

interface ActorMeta {
  readonly name: string;
  readonly rootId: string;
  readonly parentId: string | undefined;
}

function snapshotOf(v: ActorView) {
  return { status: v.status as 'active', value: v.value, context: v.context };
}

function eventOf(entry: LogEntry): AnyEventObject {
  const d = entry.detail;
  if (d !== null && typeof d === 'object' && !Array.isArray(d) && typeof d['type'] === 'string') return d as AnyEventObject;
  return { type: entry.type };
}

/**
 * `--inspect-stately URL`: the same actors in the `@statelyai/inspect`
 * WebSocket format, for the Stately inspector web app. Attached to XState
 * directly, that inspector schedules a timer and deep-copies a snapshot per
 * inspection event; here it is fed from the coalesced source instead: one
 * `@xstate.actor` per actor, one `@xstate.snapshot` per actor per flush, the
 * recorded (non-hot) events, and nothing per message. The package's own
 * `createInspector` builds the messages, so the format is the one it speaks;
 * our adapter only names the actors, adds their tree, and owns the socket.
 */
export function connectStately(options: StatelyBridgeOptions): StatelyBridge {
  const log = (options.logger ?? silentLogger).child({ inspector: 'stately' });
  const { source } = options;
  const filter = options.filter ?? (() => true);
  const maxBuffered = options.maxBuffered ?? 1024 * 1024;
  const backoff = options.reconnect ?? { initialMs: 1_000, maxMs: 30_000 };
  const announced = new Set<string>();
  let meta: ActorMeta | undefined;
  let ws: WebSocket | undefined;
  let open = false;
  let closed = false;
  let sent = 0;
  let dropped = 0;
  let attempt = 0;
  let retry: NodeJS.Timeout | undefined;

  const inspector = createInspector(
    {
      send(event: StatelyInspectionEvent) {
        if (event.type === '@xstate.actor' && meta !== undefined) {
          event.name = meta.name;
          event.rootId = meta.rootId;
          event.parentId = meta.parentId;
        }
        if (!open || ws === undefined) return;
        if (ws.bufferedAmount > maxBuffered) {
          dropped += 1;
          return;
        }
        ws.send(JSON.stringify(event));
        sent += 1;
      },
    },
    { autoStart: false },
  );

  const announce = (v: ActorView) => {
    const logic = v.chart === null ? undefined : source.logicOf(v.chart);
    const config = (logic as { config?: unknown } | undefined)?.config ?? { id: v.systemId ?? v.name };
    meta = { name: v.systemId ?? v.name, rootId: v.root, parentId: v.parent ?? undefined };
    try {
      inspector.actor({ sessionId: v.id, id: v.name, logic: { config } } as never, snapshotOf(v));
    } finally {
      meta = undefined;
    }
    announced.add(v.id);
  };

  const replay = () => {
    announced.clear();
    const actors = [...source.state().actors].filter(filter);
    // Parents before children, as they were created.
    actors.sort((a, b) => Number(a.id.split(':')[1]) - Number(b.id.split(':')[1]));
    for (const v of actors) announce(v);
  };

  const onDelta = (delta: InspectionDelta) => {
    if (!open) return;
    const lastEvent = new Map<string, AnyEventObject>();
    for (const entry of delta.log) {
      if ((entry.kind !== 'event' && entry.kind !== 'sampled') || entry.actor === null) continue;
      if (!announced.has(entry.actor)) continue;
      const event = eventOf(entry);
      lastEvent.set(entry.actor, event);
      inspector.event(entry.actor, event, entry.source !== null && announced.has(entry.source) ? { source: entry.source } : {});
    }
    for (const v of delta.upsert) {
      if (!filter(v)) continue;
      if (!announced.has(v.id)) announce(v);
      else inspector.snapshot(v.id, snapshotOf(v), { event: lastEvent.get(v.id) ?? { type: 'steward.coalesced' } });
    }
    for (const r of delta.remove) {
      if (!announced.delete(r.id)) continue;
      inspector.snapshot(r.id, { status: r.status as 'stopped', ...(r.error !== null ? { error: r.error } : {}) } as never);
    }
  };
  const unsubscribe = source.subscribe(onDelta);

  const connect = () => {
    if (closed) return;
    const socket = new WebSocket(options.url, { handshakeTimeout: 10_000, maxPayload: 64 * 1024 });
    ws = socket;
    socket.on('open', () => {
      open = true;
      attempt = 0;
      log.info({ url: options.url }, 'streaming to the Stately inspector');
      replay();
    });
    // The relay broadcasts what others send; nothing it says is for us.
    socket.on('message', () => undefined);
    socket.on('error', (error) => log.debug({ err: error, url: options.url }, 'Stately inspector connection failed'));
    socket.on('close', () => {
      if (ws === socket) {
        open = false;
        ws = undefined;
      }
      if (closed) return;
      attempt += 1;
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt - 1, 16));
      if (attempt === 1 || attempt % 10 === 0) log.warn({ url: options.url, retryInMs: delay }, 'Stately inspector unreachable; retrying');
      retry = setTimeout(connect, delay);
      retry.unref();
    });
  };
  connect();

  return {
    stats: () => ({ sent, dropped, connected: open }),
    close: () => {
      closed = true;
      unsubscribe();
      if (retry) clearTimeout(retry);
      ws?.close();
      open = false;
    },
  };
}
