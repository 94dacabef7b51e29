/**
 * KTL keyword types: string, boolean, integer, double, float, enumerated.
 * Every value has two forms, as in KTL: the ascii form (bytes, what travels
 * on the wire and what `show` prints) and the binary form (the native value:
 * a Buffer for strings, a boolean, a number, an enumerator index). Casting
 * either form yields the canonical pair or a reason; nothing here throws.
 */

export const KEYWORD_TYPES = ['string', 'boolean', 'integer', 'double', 'float', 'enumerated'] as const;
export type KeywordType = (typeof KEYWORD_TYPES)[number];

export function isKeywordType(value: unknown): value is KeywordType {
  return typeof value === 'string' && (KEYWORD_TYPES as readonly string[]).includes(value);
}

interface BaseDescriptor {
  readonly name: string;
  readonly readonly: boolean;
  readonly units?: string;
  readonly description?: string;
}

export interface StringDescriptor extends BaseDescriptor {
  readonly type: 'string';
  /** Longest value accepted, in bytes. */
  readonly maxLength: number;
}

export interface BooleanDescriptor extends BaseDescriptor {
  readonly type: 'boolean';
}

export interface NumericDescriptor extends BaseDescriptor {
  readonly type: 'integer' | 'double' | 'float';
  readonly min?: number;
  readonly max?: number;
}

export interface EnumeratedDescriptor extends BaseDescriptor {
  readonly type: 'enumerated';
  /** Index i is the binary form of enumerators[i]. */
  readonly enumerators: readonly string[];
}

export type KeywordDescriptor = StringDescriptor | BooleanDescriptor | NumericDescriptor | EnumeratedDescriptor;

/** The native form: Buffer (string), boolean, number (integer, double, float, enumerator index). */
export type BinaryValue = Buffer | boolean | number;

/** A validated value in both forms; `ascii` is canonical (what a read returns). */
export interface TypedValue {
  readonly ascii: Buffer;
  readonly binary: BinaryValue;
}

export type CastResult = { readonly ok: true; readonly value: TypedValue } | { readonly ok: false; readonly reason: string };

/** What a caller may hand to a write: text or bytes in ascii form, or a native value. */
export type KeywordInput = string | Buffer | number | boolean;

export const DEFAULT_STRING_MAX_LENGTH = 64 * 1024;
/** Longest ascii form of a non-string value; anything longer is garbage, not a number. */
const MAX_SCALAR_ASCII = 128;
export const MAX_ENUMERATORS = 1024;

const ok = (ascii: Buffer | string, binary: BinaryValue): CastResult => ({
  ok: true,
  value: { ascii: typeof ascii === 'string' ? Buffer.from(ascii) : ascii, binary },
});
const fail = (reason: string): CastResult => ({ ok: false, reason });

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', 'off', '0']);
const DECIMAL_INT = /^[+-]?\d+$/;
const HEX_INT = /^([+-]?)0[xX]([0-9a-fA-F]+)$/;
const DECIMAL_REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function inRange(desc: NumericDescriptor, n: number): string | undefined {
  if (desc.min !== undefined && n < desc.min) return `${n} is below the minimum ${desc.min}`;
  if (desc.max !== undefined && n > desc.max) return `${n} is above the maximum ${desc.max}`;
  return undefined;
}

/** The shortest decimal that still reads back as the same float32. */
function float32Text(n32: number): string {
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(n32.toPrecision(p));
    if (Math.fround(candidate) === n32) return String(candidate);
  }
  return String(n32);
}

function castInteger(desc: NumericDescriptor, n: number): CastResult {
  if (!Number.isSafeInteger(n)) return fail(`${n} is not a whole number within ±${Number.MAX_SAFE_INTEGER}`);
  const range = inRange(desc, n);
  return range ? fail(range) : ok(String(n), n);
}

function castReal(desc: NumericDescriptor, n: number): CastResult {
  if (!Number.isFinite(n)) return fail(`${n} is not a finite number`);
  if (desc.type === 'float') {
    const n32 = Math.fround(n);
    if (!Number.isFinite(n32)) return fail(`${n} is outside the float32 range`);
    const text = float32Text(n32);
    const value = Number(text);
    const range = inRange(desc, value);
    return range ? fail(range) : ok(text, value);
  }
  const range = inRange(desc, n);
  // -0 reads as 0: one canonical form per value.
  const value = Object.is(n, -0) ? 0 : n;
  return range ? fail(range) : ok(String(value), value);
}

function castEnumIndex(desc: EnumeratedDescriptor, index: number): CastResult {
  if (!Number.isInteger(index) || index < 0 || index >= desc.enumerators.length) {
    return fail(`${index} is not an enumerator index (0 to ${desc.enumerators.length - 1})`);
  }
  return ok(desc.enumerators[index] as string, index);
}

function scalarText(bytes: Buffer): string | undefined {
  if (bytes.length > MAX_SCALAR_ASCII) return undefined;
  return bytes.toString('utf8').trim();
}

/** Casts an ascii form (from the wire, a file or a command line) to the canonical pair. */
export function fromAscii(desc: KeywordDescriptor, bytes: Buffer): CastResult {
  if (desc.type === 'string') {
    if (bytes.length > desc.maxLength) return fail(`${bytes.length} bytes is longer than the limit of ${desc.maxLength}`);
    return ok(bytes, bytes);
  }
  const text = scalarText(bytes);
  if (text === undefined) return fail(`${bytes.length} bytes is too long for a ${desc.type}`);
  switch (desc.type) {
    case 'boolean': {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return ok('true', true);
      if (FALSE_WORDS.has(word)) return ok('false', false);
      return fail(`"${text}" is not a boolean (true/false, yes/no, on/off, 1/0)`);
    }
    case 'integer': {
      if (DECIMAL_INT.test(text)) return castInteger(desc, Number(text));
      const hex = HEX_INT.exec(text);
      if (hex) return castInteger(desc, (hex[1] === '-' ? -1 : 1) * Number.parseInt(hex[2] as string, 16));
      return fail(`"${text}" is not an integer`);
    }
    case 'double':
    case 'float':
      if (!DECIMAL_REAL.test(text)) return fail(`"${text}" is not a number`);
      return castReal(desc, Number(text));
    case 'enumerated': {
      const exact = desc.enumerators.indexOf(text);
      if (exact >= 0) return castEnumIndex(desc, exact);
      const lower = text.toLowerCase();
      const folded = desc.enumerators.findIndex((e) => e.toLowerCase() === lower);
      if (folded >= 0) return castEnumIndex(desc, folded);
      if (DECIMAL_INT.test(text)) return castEnumIndex(desc, Number(text));
      return fail(`"${text}" is not one of ${desc.enumerators.join(', ')}`);
    }
  }
}

/** Casts a native value to the canonical pair. */
export function fromBinary(desc: KeywordDescriptor, value: BinaryValue): CastResult {
  switch (desc.type) {
    case 'string':
      return Buffer.isBuffer(value) ? fromAscii(desc, value) : fail(`a string keyword takes bytes or text, not a ${typeof value}`);
    case 'boolean':
      if (typeof value === 'boolean') return ok(value ? 'true' : 'false', value);
      if (value === 0 || value === 1) return ok(value === 1 ? 'true' : 'false', value === 1);
      return fail(`${describe(value)} is not a boolean`);
    case 'integer':
      if (typeof value === 'number') return castInteger(desc, value);
      if (typeof value === 'boolean') return castInteger(desc, value ? 1 : 0);
      return fail(`${describe(value)} is not an integer`);
    case 'double':
    case 'float':
      return typeof value === 'number' ? castReal(desc, value) : fail(`${describe(value)} is not a number`);
    case 'enumerated':
      return typeof value === 'number' ? castEnumIndex(desc, value) : fail(`${describe(value)} is not an enumerator index`);
  }
}

/** What a write accepts: text and bytes are ascii forms, numbers and booleans native ones. */
export function castInput(desc: KeywordDescriptor, input: KeywordInput): CastResult {
  if (typeof input === 'string') return fromAscii(desc, Buffer.from(input));
  if (Buffer.isBuffer(input)) return fromAscii(desc, input);
  return fromBinary(desc, input);
}

/** The ascii form a client sends for a write; the dispatcher validates it. */
export function inputToAscii(input: KeywordInput): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (typeof input === 'boolean') return Buffer.from(input ? 'true' : 'false');
  return Buffer.from(String(input));
}

function describe(value: BinaryValue): string {
  return Buffer.isBuffer(value) ? `${value.length} bytes` : JSON.stringify(value);
}

/** The initial value of a keyword that declares none. */
export function zeroValue(desc: KeywordDescriptor): TypedValue {
  switch (desc.type) {
    case 'string':
      return { ascii: Buffer.alloc(0), binary: Buffer.alloc(0) };
    case 'boolean':
      return { ascii: Buffer.from('false'), binary: false };
    case 'enumerated':
      return { ascii: Buffer.from(desc.enumerators[0] ?? ''), binary: 0 };
    default: {
      const lowest = desc.min !== undefined && desc.min > 0 ? desc.min : desc.max !== undefined && desc.max < 0 ? desc.max : 0;
      const cast = fromBinary(desc, lowest);
      return cast.ok ? cast.value : { ascii: Buffer.from('0'), binary: 0 };
    }
  }
}

/** The descriptor as `identify` sends it (JSON), and back. */
export function descriptorToJson(desc: KeywordDescriptor): string {
  return JSON.stringify(desc);
}

export type DescriptorResult = { readonly ok: true; readonly descriptor: KeywordDescriptor } | { readonly ok: false; readonly field: string; readonly problem: string };

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a descriptor from an untrusted source (a keywords file, an
 * `identify` reply). `field` names what is wrong, relative to the object.
 */
export function parseDescriptor(raw: unknown): DescriptorResult {
  const bad = (field: string, problem: string): DescriptorResult => ({ ok: false, field, problem });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('', 'is not an object');
  const o = raw as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || !isValidName(o['name'])) {
    return bad('name', 'must be 1-64 characters of A-Z a-z 0-9 _ . -');
  }
  if (!isKeywordType(o['type'])) return bad('type', `must be one of ${KEYWORD_TYPES.join(', ')}`);
  const base: { name: string; readonly: boolean; units?: string; description?: string } = {
    name: o['name'],
    readonly: o['readonly'] === true,
  };
  if (o['readonly'] !== undefined && typeof o['readonly'] !== 'boolean') return bad('readonly', 'must be true or false');
  for (const key of ['units', 'description'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > 1024) return bad(key, 'must be text of at most 1024 characters');
    base[key] = v;
  }
  const type = o['type'];
  switch (type) {
    case 'string': {
      const maxLength = o['maxLength'] ?? DEFAULT_STRING_MAX_LENGTH;
      if (!Number.isSafeInteger(maxLength) || (maxLength as number) < 0) return bad('maxLength', 'must be a whole number of bytes');
      return { ok: true, descriptor: { ...base, type, maxLength: maxLength as number } };
    }
    case 'boolean':
      return { ok: true, descriptor: { ...base, type } };
    case 'integer':
    case 'double':
    case 'float': {
      const range: { min?: number; max?: number } = {};
      for (const key of ['min', 'max'] as const) {
        const v = o[key];
        if (v === undefined) continue;
        if (!isFiniteNumber(v) || (type === 'integer' && !Number.isSafeInteger(v))) {
          return bad(key, type === 'integer' ? 'must be a whole number' : 'must be a finite number');
        }
        range[key] = v;
      }
      if (range.min !== undefined && range.max !== undefined && range.min > range.max) return bad('min', `${range.min} is above max ${range.max}`);
      return { ok: true, descriptor: { ...base, type, ...range } };
    }
    case 'enumerated': {
      const list = o['enumerators'];
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ENUMERATORS) {
        return bad('enumerators', `must be a list of 1 to ${MAX_ENUMERATORS} names`);
      }
      const seen = new Set<string>();
      for (let i = 0; i < list.length; i++) {
        const e: unknown = list[i];
        if (typeof e !== 'string' || e.length === 0 || e.length > 128 || e.trim() !== e) {
          return bad(`enumerators[${i}]`, 'must be non-empty text of at most 128 characters, without surrounding spaces');
        }
        if (seen.has(e.toLowerCase())) return bad(`enumerators[${i}]`, `"${e}" appears twice (names are matched ignoring case)`);
        seen.add(e.toLowerCase());
      }
      return { ok: true, descriptor: { ...base, type, enumerators: list as string[] } };
    }
  }
}

/** Service and keyword names: short, printable, no NUL, so broadcast topics stay exact. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
