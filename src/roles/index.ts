import type { RoleDefinition } from '../cli/role.js';
import { dispatcherRole } from './dispatcher.js';
import { modifyRole } from './modify.js';
import { registryRole } from './registry.js';
import { showRole } from './show.js';

/** Every role `--role NAME` can start. Each lives in its own module under src/roles/. */
export const roles: readonly RoleDefinition[] = [registryRole, dispatcherRole, showRole, modifyRole];
