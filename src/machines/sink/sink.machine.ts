import { assign, enqueueActions, setup } from 'xstate';
import type { ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import { silentLogger, type Logger } from '../../log.js';
import type { SinkEvent } from '../../protocol/sink.js';

export interface SinkMachineConfig {
  /** systemId of the PULL socket adapter, asked for its endpoints again after a restart. */
  readonly socket?: string;
  /** Called once per received burst, in arrival order; the sink's library face fans it out. */
  readonly deliver: (events: readonly SinkEvent[], receivedAt: number) => void;
  /** Called with the bound endpoints when the socket is ready. */
  readonly onListening?: (endpoints: string[]) => void;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export type SinkMachineEvent = ZmqOwnerEvent<SinkEvent> | { type: 'lifecycle.shutdown' };

/**
 * The sink: every event a worker pushed becomes a structured log line and is
 * handed to `deliver`. Events are the point of a sink, so one log line each is
 * what it is for (unlike the broker, which logs no message).
 */
export function sinkMachine(config: SinkMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'sink' });
  const now = config.now ?? Date.now;
  return setup({
    types: {
      context: {} as { received: number; endpoints: string[] },
      events: {} as SinkMachineEvent,
    },
    actions: {
      announce: enqueueActions(({ system, enqueue }) => {
        const socket = config.socket === undefined ? undefined : system.get(config.socket);
        if (socket) enqueue.sendTo(socket, { type: 'zmq.announce' });
      }),
      listening: assign(({ event }) => {
        if (event.type !== 'zmq.ready') return {};
        log.info({ endpoints: event.endpoints }, 'sink listening');
        config.onListening?.(event.endpoints);
        return { endpoints: event.endpoints };
      }),
      receive: assign(({ context, event }) => {
        if (event.type !== 'zmq.batch') return {};
        for (const e of event.messages) log.info({ source: e.source, event: e.data }, 'sink event');
        config.deliver(event.messages, now());
        return { received: context.received + event.messages.length };
      }),
    },
  }).createMachine({
    id: 'sink',
    context: { received: 0, endpoints: [] },
    entry: 'announce',
    initial: 'running',
    states: {
      running: {
        on: {
          'zmq.ready': { actions: 'listening' },
          'zmq.batch': { actions: 'receive' },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}
