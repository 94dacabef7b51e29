import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { watchFile } from '../config/watch-file.js';
import { fromResource } from './from-resource.js';

export type ReloadCause = 'start' | 'file' | 'signal' | 'api';

export type ConfigFileCommand =
  /** Read the file again now (SIGHUP, or a caller of the API). */
  | { type: 'config.reload'; cause: ReloadCause }
  /** Send the configuration in force to the owner again (an owner that restarted asks for it). */
  | { type: 'config.announce' };

export type ConfigOwnerEvent<T> =
  | { type: 'config.loaded'; config: T; cause: ReloadCause | 'announce' }
  | { type: 'config.rejected'; file: string; error: string; cause: ReloadCause };

export interface ConfigFileOptions<T extends { readonly digest: string }> {
  readonly name: string;
  readonly file: string;
  /** systemId of the actor that receives `config.loaded` and `config.rejected`. */
  readonly owner: string;
  /** The configuration validated at start-up; it stays in force until a good file replaces it. */
  readonly initial: T;
  /** Reads and validates the file; throws on any problem (the message is logged and sent to the owner). */
  readonly load: (file: string) => Promise<T>;
  /** Watch the file for changes (off: reload only on command). */
  readonly watch?: boolean;
  readonly debounceMs?: number;
  readonly logger?: Logger;
}

/**
 * Owns a configuration file: watches it, reloads it on change or command,
 * and hands each new valid version to its owner. A broken file is reported
 * and changes nothing: the last good configuration stays in force, and the
 * owner never holds anything but a complete, validated one.
 */
export function configFile<T extends { readonly digest: string }>(options: ConfigFileOptions<T>) {
  const log = (options.logger ?? silentLogger).child({ actor: options.name, file: options.file });

  return fromResource<ConfigFileCommand, void>(({ system, receive }) => {
    let current = options.initial;
    let closed = false;
    let loading = false;
    let again: ReloadCause | undefined;

    const deliver = (event: ConfigOwnerEvent<T>) => {
      // The owner may be restarting; it asks with config.announce when it is back.
      system.get(options.owner)?.send(event);
    };

    const reload = async (cause: ReloadCause): Promise<void> => {
      if (loading) {
        again = cause;
        return;
      }
      loading = true;
      try {
        const next = await options.load(options.file);
        if (closed) return;
        if (next.digest === current.digest) {
          log.debug({ cause }, 'configuration unchanged');
          return;
        }
        current = next;
        log.info({ cause }, 'configuration reloaded');
        deliver({ type: 'config.loaded', config: next, cause });
      } catch (error) {
        if (closed) return;
        const message = error instanceof Error ? error.message : String(error);
        log.error({ cause, error: message }, 'configuration rejected; the previous one stays in force');
        deliver({ type: 'config.rejected', file: options.file, error: message, cause });
      } finally {
        loading = false;
        const next = again;
        again = undefined;
        if (next !== undefined && !closed) void reload(next);
      }
    };

    receive((command) => {
      if (closed) return;
      if (command.type === 'config.announce') deliver({ type: 'config.loaded', config: current, cause: 'announce' });
      else void reload(command.cause);
    });

    const stopWatching =
      options.watch === false
        ? undefined
        : watchFile(options.file, () => void reload('file'), {
            ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
            onError: (error) => log.warn({ err: error }, 'cannot watch the configuration file; reload with SIGHUP'),
          });
    // The file may have changed between start-up validation and now (or while this actor was restarting).
    void reload('start');

    return () => {
      closed = true;
      stopWatching?.();
    };
  });
}
