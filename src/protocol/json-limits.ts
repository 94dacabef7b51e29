/**
 * JSON from peers, parsed within limits. `JSON.parse` has no depth limit and
 * a hostile `[[[[...` costs stack and memory before it is rejected, so the
 * nesting is measured on the raw bytes first (one pass, no allocation).
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

export interface JsonLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export type JsonParseResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly reason: 'too_large' | 'too_deep' | 'bad_json'; readonly detail: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Deepest nesting of objects and arrays in a JSON text (brackets inside strings do not count). */
export function jsonDepth(bytes: Uint8Array, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return max;
}

export function parseJsonWithin(bytes: Buffer, limits: JsonLimits): JsonParseResult {
  if (bytes.length > limits.maxBytes) {
    return { ok: false, reason: 'too_large', detail: `${bytes.length} bytes, the limit is ${limits.maxBytes}` };
  }
  if (jsonDepth(bytes, limits.maxDepth) > limits.maxDepth) {
    return { ok: false, reason: 'too_deep', detail: `nested deeper than ${limits.maxDepth} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) as JsonValue };
  } catch (error) {
    return { ok: false, reason: 'bad_json', detail: error instanceof Error ? error.message : String(error) };
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a value reads in an error message: its JSON type, never its (possibly huge) content. */
export function jsonTypeName(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
