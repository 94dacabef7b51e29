export { supervisor, supervisorChild, affectedChildren, shouldRestart, exitReasonOf } from './supervisor.js';
export type { SupervisorOptions, SupervisorLogic } from './supervisor.js';
export { dynamicSupervisor, shardOf } from './sharded.js';
export type { DynamicSupervisorOptions } from './sharded.js';
export { recordRestart, backoffDelay } from './intensity.js';
export type * from './types.js';
