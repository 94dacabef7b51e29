import type { RoleDefinition } from '../role.js';

/**
 * Every role `--role NAME` can start, each in its own module under src/cli/roles/,
 * loaded only when chosen: a broker process then holds the broker's code and
 * not the gateway's, the balancer's health probes or sharp. Less code on the
 * heap makes each of its full collections cheaper; with 16 KiB bodies,
 * zeromq.js's external buffers request one every few tens of milliseconds
 * (docs/platform.md). `test/unit/cli/role-index.test.ts` checks each name
 * against its module.
 */
export interface RoleEntry {
  readonly name: string;
  load(): Promise<RoleDefinition>;
}

export const roles: readonly RoleEntry[] = [
  { name: 'broker', load: async () => (await import('./broker.js')).brokerRole },
  { name: 'worker', load: async () => (await import('./worker.js')).workerRole },
  { name: 'client', load: async () => (await import('./client.js')).clientRole },
  { name: 'sink', load: async () => (await import('./sink.js')).sinkRole },
  { name: 'balancer', load: async () => (await import('./balancer.js')).balancerRole },
  { name: 'registry', load: async () => (await import('./registry.js')).registryRole },
  { name: 'dispatcher', load: async () => (await import('./dispatcher.js')).dispatcherRole },
  { name: 'show', load: async () => (await import('./show.js')).showRole },
  { name: 'modify', load: async () => (await import('./modify.js')).modifyRole },
  { name: 'gateway', load: async () => (await import('./gateway.js')).gatewayRole },
  { name: 'mesh', load: async () => (await import('./mesh.js')).meshRole },
  { name: 'keygen', load: async () => (await import('./keygen.js')).keygenRole },
];

/** Every role's definition, for the list in `--help` (loads them all). */
export function loadAllRoles(): Promise<RoleDefinition[]> {
  return Promise.all(roles.map((r) => r.load()));
}
