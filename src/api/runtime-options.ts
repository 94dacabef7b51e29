import { createActor, type Actor, type AnyActorLogic } from 'xstate';
import { ATTACH, type AttachableObserver, type InspectOption } from '../actors/inspect/types.js';

export type { InspectOption } from '../actors/inspect/types.js';

/**
 * Options every role's `X.start()` accepts besides its own, so the runtime
 * (main.ts, the local mesh, tests) can hand the same things to any role.
 */
export interface RuntimeOptions {
  /**
   * XState inspection (`--inspect`, `--inspect-stately`): give
   * `InspectionSource.inspect`. It must reach the root of the role's tree
   * (`createRootActor`): inspection is per actor system, set when the root
   * is created.
   */
  readonly inspect?: InspectOption;
}

export interface RootActorOptions extends RuntimeOptions {
  /** Names the tree (the root's actor id), e.g. `broker`. */
  readonly id?: string;
  /** Registers the root in its own actor system (some trees address their root). */
  readonly systemId?: string;
}

/**
 * `createActor` for the root of a role's tree, with inspection: an
 * `InspectionSource` attaches itself through its cheaper path before the
 * tree starts; any other observer goes to XState's `inspect` option. Every
 * role's API creates its root with this.
 */
export function createRootActor<TLogic extends AnyActorLogic>(logic: TLogic, options: RootActorOptions = {}): Actor<TLogic> {
  const { inspect, id, systemId } = options;
  const base = { ...(id !== undefined ? { id } : {}), ...(systemId !== undefined ? { systemId } : {}) };
  const attach = typeof inspect === 'object' ? (inspect as AttachableObserver)[ATTACH] : undefined;
  if (attach) {
    const actor = createActor(logic as AnyActorLogic, base) as Actor<TLogic>;
    attach(actor);
    return actor;
  }
  return createActor(logic as AnyActorLogic, inspect ? { ...base, inspect } : base) as Actor<TLogic>;
}
