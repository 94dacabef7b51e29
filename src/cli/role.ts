import type { AnyActorRef } from 'xstate';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { InspectOption } from '../api/runtime-options.js';
import type { Flags, OptionSpec } from './flags.js';

export interface RoleContext {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly flags: Flags;
  readonly positionals: readonly string[];
  /** Registers a handler for SIGHUP (reload configuration). */
  onReload(handler: () => void): void;
  /** Where the role writes what a person asked for (client replies, `show` values); logs go to the logger. */
  readonly out: NodeJS.WritableStream;
  /**
   * Set by `--inspect` / `--inspect-stately`: XState inspection for the role's
   * tree. Pass it to the API's start, which creates its root with `createRootActor`, e.g.
   * `Broker.start({ ...options, inspect: ctx.inspect })` (see `RuntimeOptions`).
   */
  readonly inspect?: InspectOption;
}

/** What a started role hands back to the runtime. */
export interface RoleRun {
  /** Root of the role's supervision tree: the runtime shuts it down on a signal and watches it for failure. */
  readonly root?: AnyActorRef;
  /** For one-shot roles (client, show, modify): resolves with the exit code when the job is done. */
  readonly done?: Promise<number>;
  /** Extra cleanup after the tree stopped (close servers the tree does not own). */
  readonly close?: () => Promise<void>;
}

/** What the runtime knows of a bind or connect that failed while a role started (an `EndpointError`). */
export interface EndpointFailure {
  /** The socket's or server's name, as the library reports it: `broker.frontend`. */
  readonly where: string;
  readonly endpoint: string;
  /** The errno name, e.g. EADDRINUSE. */
  readonly code: string | undefined;
}

export interface RoleDefinition {
  readonly name: string;
  /** One line for the role list in `--help`. */
  readonly summary: string;
  /** Full help for `--role NAME --help`: usage line, flags, an example. */
  readonly usage: string;
  readonly options: OptionSpec;
  readonly allowPositionals?: boolean;
  /**
   * Names what set an endpoint the role's tree binds or connects, for a
   * startup failure: given the socket's or server's name as the library
   * reports it (`broker.frontend`, `gateway.http`), the flag or config key
   * (`--frontend`). Not needed where the endpoint is a flag's value as typed:
   * the runtime finds that flag itself.
   */
  readonly endpointFlag?: (failure: EndpointFailure, flags: Flags) => string | undefined;
  start(ctx: RoleContext): Promise<RoleRun>;
}
