import { supervisor, type SupervisorOptions } from './supervisor.js';
import type { ChildSpec } from './types.js';

/** FNV-1a: a stable, cheap spread of session ids over shards. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export interface DynamicSupervisorOptions extends Omit<SupervisorOptions, 'children' | 'route' | 'strategy'> {
  /** Number of shard supervisors; each holds a slice of the sessions. */
  readonly shards?: number;
}

/**
 * A dynamic supervisor for per-connection sessions: a one_for_one parent of
 * `shards` dynamic supervisors. Sessions are usually `temporary`; a shard that
 * crashes only loses its own slice, and the parent restarts it empty.
 */
export function dynamicSupervisor(options: DynamicSupervisorOptions) {
  const shards = Math.max(1, options.shards ?? 16);
  const shardId = (i: number) => `${options.name}.shard.${i}`;
  const children: ChildSpec[] = [];
  for (let i = 0; i < shards; i++) {
    children.push({
      id: shardId(i),
      logic: supervisor({ ...options, name: shardId(i), strategy: 'one_for_one', children: [] }),
      restart: 'permanent',
      shutdown: 10_000,
    });
  }
  return supervisor({
    ...options,
    strategy: 'one_for_one',
    children,
    route: (id) => shardId(shardOf(id, shards)),
  });
}
