import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags: strings and booleans, arrays for `multiple: true` options. */
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Reads a flag that may be given once or repeated, as a list. */
export function flagList(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function flagString(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (Array.isArray(v)) {
    const last = v[v.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(flags: Flags, name: string): boolean {
  const v = flags[name];
  return Array.isArray(v) ? v.length > 0 : v === true;
}

/** How many times a boolean flag was repeated (`-v -v -v`). */
export function flagCount(flags: Flags, name: string): number {
  const v = flags[name];
  if (Array.isArray(v)) return v.length;
  return v === undefined || v === false ? 0 : 1;
}

/** An integer flag within bounds, or a UsageError naming the flag and the range. */
export function flagInt(flags: Flags, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = flagString(flags, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, `--${name} ${fallback}`);
  }
  return n;
}
