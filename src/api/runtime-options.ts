import type { InspectOption } from '../actors/inspect/types.js';

export type { InspectOption } from '../actors/inspect/types.js';

/**
 * Options every role's `X.start()` accepts besides its own, so the runtime
 * (main.ts, the local mesh, tests) can hand the same things to any role.
 */
export interface RuntimeOptions {
  /**
   * XState inspection (`--inspect`, `--inspect-stately`): give
   * `InspectionSource.inspect`. It must reach the root `createActor` of the
   * role's tree: inspection is per actor system, set when the root is created.
   */
  readonly inspect?: InspectOption;
}
