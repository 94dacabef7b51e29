import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface WatchFileOptions {
  /** Quiet time after the last change before `onChange` runs: editors write a file in several steps. */
  readonly debounceMs?: number;
  /** Called when the watch itself fails (the directory vanished); the caller decides what to do. */
  readonly onError?: (error: Error) => void;
}

/**
 * Calls `onChange` once a file has stopped changing. The directory is watched,
 * not the file, because editors and config tools replace a file by renaming a
 * new one over it, which ends a watch on the old inode. Returns a stop function.
 */
export function watchFile(file: string, onChange: () => void, options: WatchFileOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 200;
  const path = resolve(file);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let watcher: FSWatcher | undefined;

  const fire = () => {
    timer = undefined;
    if (!stopped) onChange();
  };
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      // Some platforms do not say which file changed; then any change may be ours.
      if (stopped || (changed !== null && changed.toString() !== name)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, debounceMs);
    });
    watcher.on('error', (error) => {
      if (!stopped) options.onError?.(error);
    });
  } catch (error) {
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}
