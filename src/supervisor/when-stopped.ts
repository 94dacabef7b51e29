import type { AnyActorRef } from 'xstate';

/** How an actor ended: its status (`done`, `error`, `stopped`), and its output or error. */
export interface StopResult {
  readonly status: string;
  readonly output: unknown;
  readonly error: unknown;
}

/** Resolves when the actor reaches a final, error or stopped status. */
export function whenStopped(actor: AnyActorRef): Promise<StopResult> {
  return new Promise((resolve) => {
    const check = () => {
      const snap = actor.getSnapshot() as { status: string; output?: unknown; error?: unknown };
      if (snap.status !== 'active') {
        resolve({ status: snap.status, output: snap.output, error: snap.error });
        return true;
      }
      return false;
    };
    if (check()) return;
    const sub = actor.subscribe({
      next: () => {
        if (check()) sub.unsubscribe();
      },
      error: (error) => resolve({ status: 'error', output: undefined, error }),
      complete: () => check(),
    });
  });
}
