import { enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { RegistryInbound } from '../../protocol/keywords.js';
import type { SupervisorEvent } from '../../supervisor/types.js';
import { registryEntry, type RegistryEntryEvent, type RegistryEntryInput, type RegistryEntryReport } from './registry-entry.machine.js';
import { RegistryTable, type RegistryTableOptions } from './registry-table.js';

export interface RegistryMachineConfig extends RegistryTableOptions {
  /** systemId of this machine, which entry actors report to. */
  readonly self: string;
  /** systemId of the ROUTER adapter. */
  readonly socket: string;
  /** systemId of the dynamic supervisor holding one entry actor per registered dispatcher. */
  readonly entries: string;
  /** Silence after which an entry is flagged suspect. */
  readonly suspectAfterMs: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type RegistryEvent = ZmqOwnerEvent<RegistryInbound> | RegistryEntryReport | { type: 'lifecycle.shutdown' };

export type RegistryEmitted = { type: 'registry.listening'; endpoint: string };

export interface RegistryContext {
  readonly table: RegistryTable;
  endpoint: string | undefined;
}

export function entrySystemId(entries: string, service: string, generation: number): string {
  return `${entries}.${service}.${generation}`;
}

/**
 * The registry: requests in, replies out, one entry actor per registered
 * dispatcher. The table answers; this machine carries its commands to the
 * socket and the entry actors, and frees a dispatcher's ports when its
 * entry reports it expired.
 */
export function registryMachine(config: RegistryMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'registry' });
  const now = config.now ?? Date.now;
  const requests = config.metrics?.counter('steward_registry_requests_total', 'Registry requests answered', ['command']);
  const servicesGauge = config.metrics?.gauge('steward_registry_services', 'Dispatchers registered');
  const freeGauge = config.metrics?.gauge('steward_registry_free_port_pairs', 'Port pairs not handed out');

  return setup({
    types: {
      context: {} as RegistryContext,
      events: {} as RegistryEvent,
      emitted: {} as RegistryEmitted,
    },
    actions: {
      announce: enqueueActions(({ system, enqueue }) => {
        const socket = system.get(config.socket);
        if (socket) enqueue.sendTo(socket, { type: 'zmq.announce' });
      }),
      recordEndpoint: enqueueActions(({ event, enqueue }) => {
        if (event.type !== 'zmq.ready') return;
        const endpoint = event.endpoints[0] ?? '';
        enqueue.assign({ endpoint });
        log.info({ endpoint, ports: `${config.firstPort}-${config.lastPort}`, heartbeatMs: config.heartbeatMs }, 'registry listening');
        enqueue.emit({ type: 'registry.listening', endpoint });
      }),
      handleBatch: ({ context, event }) => {
        if (event.type !== 'zmq.batch') return;
        context.table.handle(event.messages, now());
        // -v: one line per request; checked once per burst so the default level pays nothing.
        if (log.isLevelEnabled('debug')) {
          for (const m of event.messages) log.debug({ request: m.type, id: m.id, ...('service' in m ? { service: m.service } : {}) }, 'request');
        }
        if (requests) for (const m of event.messages) requests.inc({ command: m.type.slice(m.type.indexOf('.') + 1) });
      },
      entryState: ({ context, event }) => {
        if (event.type !== 'registry.entryState') return;
        context.table.setState(event.service, event.generation, event.state);
        const level = event.state === 'suspect' ? 'warn' : 'info';
        log[level]({ service: event.service, state: event.state }, event.state === 'suspect' ? 'dispatcher missed heartbeats' : 'dispatcher heard from again');
      },
      entryExpired: ({ context, event }) => {
        if (event.type === 'registry.entryExpired') context.table.expire(event.service, event.generation);
      },
      flush: enqueueActions(({ context, system, enqueue }) => {
        const { table } = context;
        if (table.out.length > 0) {
          const socket = system.get(config.socket);
          const send: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages: table.out.splice(0) };
          if (socket) enqueue.sendTo(socket, send);
        }
        if (table.commands.length > 0) {
          const entries = system.get(config.entries);
          for (const cmd of table.commands) {
            if (cmd.type === 'entry.start') {
              const r = cmd.registration;
              const start: SupervisorEvent = {
                type: 'supervisor.startChild',
                spec: {
                  id: `entry.${r.service}.${r.generation}`,
                  systemId: entrySystemId(config.entries, r.service, r.generation),
                  logic: registryEntry,
                  restart: 'temporary',
                  input: {
                    service: r.service,
                    generation: r.generation,
                    dispatch: r.dispatch,
                    broadcast: r.broadcast,
                    registry: config.self,
                    suspectAfterMs: config.suspectAfterMs,
                    expiryMs: config.expiryMs,
                  } satisfies RegistryEntryInput,
                },
              };
              if (entries) enqueue.sendTo(entries, start);
            } else {
              const entry = system.get(entrySystemId(config.entries, cmd.service, cmd.generation));
              const event: RegistryEntryEvent = cmd.type === 'entry.heartbeat' ? { type: 'entry.heartbeat' } : { type: 'entry.release' };
              if (entry) enqueue.sendTo(entry, event);
            }
          }
          table.commands.length = 0;
        }
        for (const note of table.notes) {
          switch (note.type) {
            case 'registered':
              log.info({ service: note.service, dispatch: note.dispatch, broadcast: note.broadcast }, 'dispatcher registered');
              break;
            case 'unregistered':
              log.info({ service: note.service }, 'dispatcher unregistered; ports freed');
              break;
            case 'expired':
              log.warn({ service: note.service, dispatch: note.dispatch, expiryMs: config.expiryMs }, 'dispatcher silent past the expiry; dropped, ports freed');
              break;
            case 'exhausted':
              log.error({ service: note.service, ports: `${config.firstPort}-${config.lastPort}` }, 'port range exhausted; registration refused');
              break;
            case 'taken':
              log.warn({ service: note.service }, 'service already served by another dispatcher; registration refused');
              break;
          }
        }
        table.notes.length = 0;
        servicesGauge?.set(table.size);
        freeGauge?.set(table.pool.available);
      }),
    },
  }).createMachine({
    id: 'registry',
    context: () => ({ table: new RegistryTable(config), endpoint: undefined }),
    entry: 'announce',
    initial: 'running',
    states: {
      running: {
        on: {
          'zmq.ready': { actions: 'recordEndpoint' },
          'zmq.batch': { actions: ['handleBatch', 'flush'] },
          'registry.entryState': { actions: 'entryState' },
          'registry.entryExpired': { actions: ['entryExpired', 'flush'] },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}
