import type { RoleDefinition } from '../cli/role.js';
import { balancerRole } from './balancer.js';
import { brokerRole } from './broker.js';
import { clientRole } from './client.js';
import { dispatcherRole } from './dispatcher.js';
import { gatewayRole } from './gateway.js';
import { keygenRole } from './keygen.js';
import { meshRole } from './mesh.js';
import { modifyRole } from './modify.js';
import { registryRole } from './registry.js';
import { showRole } from './show.js';
import { sinkRole } from './sink.js';
import { workerRole } from './worker.js';

/** Every role `--role NAME` can start. Each lives in its own module under src/roles/. */
export const roles: readonly RoleDefinition[] = [
  brokerRole,
  workerRole,
  clientRole,
  sinkRole,
  balancerRole,
  registryRole,
  dispatcherRole,
  showRole,
  modifyRole,
  gatewayRole,
  meshRole,
  keygenRole,
];
