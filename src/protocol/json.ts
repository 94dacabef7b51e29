/**
 * JSON from the network, bounded. `JSON.parse` has no size or depth limit,
 * and a deeply nested document from a hostile peer can exhaust the stack or
 * the heap of the code that walks it afterwards. The bytes are measured and
 * the nesting counted by one linear scan before anything is parsed.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface JsonLimits {
  /** Largest document, in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  readonly maxDepth: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: 32 };

export type JsonFailure = 'too_large' | 'too_deep' | 'malformed';

export type JsonParsed = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly reason: JsonFailure; readonly detail: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The deepest nesting in a JSON text, stopping as soon as it passes `limit`.
 * Brackets inside strings do not count. Works on UTF-8 bytes: every byte of a
 * multi-byte character is >= 0x80, so it never looks like a bracket or quote.
 */
export function jsonDepthExceeds(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth -= 1;
  }
  return false;
}

export function parseJson(input: Buffer | string, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonParsed {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  if (bytes.length > limits.maxBytes) return { ok: false, reason: 'too_large', detail: `${bytes.length} bytes > ${limits.maxBytes}` };
  if (jsonDepthExceeds(bytes, limits.maxDepth)) return { ok: false, reason: 'too_deep', detail: `nested deeper than ${limits.maxDepth}` };
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) as JsonValue };
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: error instanceof Error ? error.message : String(error) };
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
