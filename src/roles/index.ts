import type { RoleDefinition } from '../cli/role.js';
import { gatewayRole } from './gateway.js';

/** Every role `--role NAME` can start. Each lives in its own module under src/roles/. */
export const roles: readonly RoleDefinition[] = [gatewayRole];
