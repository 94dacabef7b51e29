/**
 * The keywords a dispatcher hosts, declared in a JSON file:
 *
 *   { "keywords": [
 *       { "name": "TEMP", "type": "double", "initial": 20.5, "units": "degC", "min": -50, "max": 150 },
 *       { "name": "MODE", "type": "enumerated", "enumerators": ["Off", "On", "Auto"], "initial": "Off" },
 *       { "name": "SERIAL", "type": "string", "initial": "A:1", "readonly": true } ] }
 *
 * A bare array of keyword objects is accepted too. `initial` is an ascii form
 * (text) or a native value (number, boolean); a keyword without one starts at
 * its type's zero. `readonly` defaults to false (writable).
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { castInput, parseDescriptor, zeroValue, type KeywordDescriptor, type KeywordInput, type TypedValue } from '../protocol/ktl-types.js';

export interface KeywordDefinition {
  readonly descriptor: KeywordDescriptor;
  readonly initial: TypedValue;
}

const MAX_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_KEYWORDS = 10_000;
const KNOWN_FIELDS = new Set(['name', 'type', 'initial', 'units', 'description', 'readonly', 'min', 'max', 'maxLength', 'enumerators']);

/** Validates parsed JSON; throws ConfigError naming `keywords[i].field`. */
export function parseKeywordsFile(json: unknown, file: string): KeywordDefinition[] {
  const list = Array.isArray(json) ? json : (json as { keywords?: unknown } | null)?.keywords;
  if (!Array.isArray(list)) {
    throw new ConfigError(file, 'keywords', 'is missing or not a list', 'write {"keywords": [{"name": "TEMP", "type": "double"}]}');
  }
  if (list.length > MAX_KEYWORDS) throw new ConfigError(file, 'keywords', `holds ${list.length} keywords, more than ${MAX_KEYWORDS}`, 'split the service');
  const seen = new Set<string>();
  const out: KeywordDefinition[] = [];
  for (let i = 0; i < list.length; i++) {
    const where = `keywords[${i}]`;
    const raw: unknown = list[i];
    const parsed = parseDescriptor(raw);
    if (!parsed.ok) {
      throw new ConfigError(file, parsed.field ? `${where}.${parsed.field}` : where, parsed.problem, fixFor(parsed.field));
    }
    const desc = parsed.descriptor;
    for (const key of Object.keys(raw as object)) {
      if (!KNOWN_FIELDS.has(key)) throw new ConfigError(file, `${where}.${key}`, 'unknown field', `remove it or use one of: ${[...KNOWN_FIELDS].join(', ')}`);
    }
    if (seen.has(desc.name)) throw new ConfigError(file, `${where}.name`, `"${desc.name}" is declared twice`, 'give each keyword its own name');
    seen.add(desc.name);
    out.push({ descriptor: desc, initial: initialOf(desc, (raw as { initial?: unknown }).initial, file, where) });
  }
  return out;
}

function initialOf(desc: KeywordDescriptor, initial: unknown, file: string, where: string): TypedValue {
  if (initial === undefined) return zeroValue(desc);
  if (typeof initial !== 'string' && typeof initial !== 'number' && typeof initial !== 'boolean') {
    throw new ConfigError(file, `${where}.initial`, 'must be text, a number or true/false', `"initial": ${JSON.stringify(zeroValue(desc).ascii.toString())}`);
  }
  const cast = castInput(desc, initial as KeywordInput);
  if (!cast.ok) throw new ConfigError(file, `${where}.initial`, `is not a valid ${desc.type}: ${cast.reason}`, 'give a value the type accepts, or leave initial out');
  return cast.value;
}

function fixFor(field: string): string {
  switch (field) {
    case 'type':
      return '"type": "string" (or boolean, integer, double, float, enumerated)';
    case 'name':
      return '"name": "TEMP"';
    case 'enumerators':
      return '"enumerators": ["Off", "On"]';
    default:
      return 'see docs/keywords.md for the keyword fields';
  }
}

export async function loadKeywordsFile(file: string): Promise<KeywordDefinition[]> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new ConfigError(file, '(file)', `cannot be read: ${(error as Error).message}`, 'pass the keywords JSON file with --keywords');
  }
  if (size > MAX_FILE_BYTES) throw new ConfigError(file, '(file)', `is ${size} bytes, more than ${MAX_FILE_BYTES}`, 'split the service');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, '(file)', `is not valid JSON: ${(error as Error).message}`, 'check the syntax, e.g. with `node -e "JSON.parse(require(\'fs\').readFileSync(process.argv[1]))" FILE`');
  }
  return parseKeywordsFile(json, file);
}
