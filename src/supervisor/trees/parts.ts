import type { EventObject } from 'xstate';
import { zmqSocket, type ZmqSocketConfig } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { supervisor } from '../supervisor.js';
import type { ChildSpec } from '../types.js';
import { SOCKET_SHUTDOWN_MS } from './constants.js';

/**
 * A socket adapter as a supervised child, addressed by its name as systemId.
 * It closes gracefully (queue drained, bounded linger) when its tree stops,
 * so the last replies and goodbyes of a drain are not lost.
 */
export function socketChild<In extends EventObject, Out>(id: string, config: ZmqSocketConfig<In, Out>): ChildSpec {
  return { id, systemId: config.name, shutdown: SOCKET_SHUTDOWN_MS, logic: zmqSocket(config) };
}

export interface RoleSupervisorOptions {
  readonly name: string;
  readonly children: readonly ChildSpec[];
  readonly logger: Logger;
  readonly now?: (() => number) | undefined;
}

/**
 * The root of a server role's tree: rest_for_one (sockets first, so a
 * machine's crash restarts what comes after it while the sockets stay
 * bound), and the restart budget every role shares: more than 5 restarts in
 * 30 s gives up, with a backoff from 100 ms doubling to 5 s.
 */
export function roleSupervisor(options: RoleSupervisorOptions) {
  return supervisor({
    name: options.name,
    strategy: 'rest_for_one',
    intensity: 5,
    period: 30_000,
    backoff: { initial: 100, max: 5_000 },
    children: options.children,
    logger: options.logger,
    ...(options.now ? { now: options.now } : {}),
  });
}
