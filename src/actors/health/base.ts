import { ok, type Probe } from './types.js';

/** stirr's Base: always up, nothing to ask. */
export const baseProbe: Probe<'Base'> = async () => ok();
