import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  castInput,
  fromAscii,
  fromBinary,
  inputToAscii,
  parseDescriptor,
  zeroValue,
  type CastResult,
  type KeywordDescriptor,
} from '../../../src/protocol/ktl-types.js';

const str: KeywordDescriptor = { name: 'S', type: 'string', readonly: false, maxLength: 16 };
const bool: KeywordDescriptor = { name: 'B', type: 'boolean', readonly: false };
const int: KeywordDescriptor = { name: 'I', type: 'integer', readonly: false, min: -10, max: 100 };
const dbl: KeywordDescriptor = { name: 'D', type: 'double', readonly: false, min: -1.5, max: 1e6 };
const flt: KeywordDescriptor = { name: 'F', type: 'float', readonly: false };
const enm: KeywordDescriptor = { name: 'E', type: 'enumerated', readonly: false, enumerators: ['Off', 'On', 'Auto'] };

function value(result: CastResult): { ascii: string; binary: unknown } {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return { ascii: result.value.ascii.toString(), binary: result.value.binary };
}

function reason(result: CastResult): string {
  if (result.ok) throw new Error(`expected a refusal, got ${result.value.ascii.toString()}`);
  return result.reason;
}

const ascii = (desc: KeywordDescriptor, text: string) => fromAscii(desc, Buffer.from(text));

describe('KTL string', () => {
  it('should keep any bytes, ":" and NUL included, as both forms', () => {
    const bytes = Buffer.from([0x61, 0x3a, 0x00, 0xff, 0x0a]);
    const r = fromAscii(str, bytes);
    expect(r.ok && r.value.ascii.equals(bytes) && Buffer.isBuffer(r.value.binary) && r.value.binary.equals(bytes)).toBe(true);
  });

  it('should refuse a value longer than maxLength', () => {
    expect(reason(ascii(str, 'x'.repeat(17)))).toMatch(/longer than the limit of 16/);
    expect(value(ascii(str, 'x'.repeat(16))).ascii).toHaveLength(16);
  });

  it('should take text as utf8 and refuse a native number', () => {
    expect(value(castInput(str, 'ü')).ascii).toBe('ü');
    expect(reason(fromBinary(str, 5))).toMatch(/takes bytes or text/);
  });
});

describe('KTL boolean', () => {
  it.each(['true', 'TRUE', 'yes', 'on', '1', 't', 'y', ' true '])('should read %j as true', (t) => {
    expect(value(ascii(bool, t))).toEqual({ ascii: 'true', binary: true });
  });

  it.each(['false', 'No', 'off', '0', 'f', 'n'])('should read %j as false', (t) => {
    expect(value(ascii(bool, t))).toEqual({ ascii: 'false', binary: false });
  });

  it('should refuse other words and numbers other than 0 and 1', () => {
    expect(reason(ascii(bool, 'maybe'))).toMatch(/not a boolean/);
    expect(reason(ascii(bool, '2'))).toMatch(/not a boolean/);
    expect(reason(fromBinary(bool, 2))).toMatch(/not a boolean/);
  });

  it('should cast native booleans and 0/1', () => {
    expect(value(castInput(bool, true)).ascii).toBe('true');
    expect(value(fromBinary(bool, 0)).binary).toBe(false);
  });
});

describe('KTL integer', () => {
  it('should read decimal and hexadecimal, with a sign', () => {
    expect(value(ascii(int, '42'))).toEqual({ ascii: '42', binary: 42 });
    expect(value(ascii(int, '-7'))).toEqual({ ascii: '-7', binary: -7 });
    expect(value(ascii(int, '+0x1f'))).toEqual({ ascii: '31', binary: 31 });
    expect(value(ascii(int, '007'))).toEqual({ ascii: '7', binary: 7 });
  });

  it('should refuse fractions, exponents, words and empty text', () => {
    for (const t of ['1.5', '1e3', 'abc', '', '0x', '--1']) expect(reason(ascii(int, t))).toMatch(/not an integer/);
  });

  it('should enforce min and max', () => {
    expect(reason(ascii(int, '101'))).toMatch(/above the maximum 100/);
    expect(reason(ascii(int, '-11'))).toMatch(/below the minimum -10/);
    expect(value(ascii(int, '100')).binary).toBe(100);
  });

  it('should refuse numbers beyond the safe integer range', () => {
    const wide: KeywordDescriptor = { name: 'W', type: 'integer', readonly: false };
    expect(reason(ascii(wide, '9007199254740993'))).toMatch(/not a whole number/);
    expect(reason(fromBinary(wide, 1.5))).toMatch(/not a whole number/);
  });

  it('should cast native numbers and booleans', () => {
    expect(value(castInput(int, 5)).ascii).toBe('5');
    expect(value(castInput(int, true)).binary).toBe(1);
  });
});

describe('KTL double', () => {
  it('should read decimal and exponent notation and print the shortest form', () => {
    expect(value(ascii(dbl, '2.50'))).toEqual({ ascii: '2.5', binary: 2.5 });
    expect(value(ascii(dbl, '1e3'))).toEqual({ ascii: '1000', binary: 1000 });
    expect(value(ascii(dbl, '.5'))).toEqual({ ascii: '0.5', binary: 0.5 });
    expect(value(ascii(dbl, '-0'))).toEqual({ ascii: '0', binary: 0 });
  });

  it('should refuse non-numbers, NaN and infinities', () => {
    for (const t of ['abc', 'NaN', 'Infinity', '1,5', '']) expect(reason(ascii(dbl, t))).toMatch(/not a number/);
    expect(reason(fromBinary(dbl, Number.NaN))).toMatch(/not a finite number/);
    expect(reason(fromBinary(dbl, Number.POSITIVE_INFINITY))).toMatch(/not a finite number/);
  });

  it('should enforce min and max', () => {
    expect(reason(ascii(dbl, '-2'))).toMatch(/below the minimum -1.5/);
    expect(reason(ascii(dbl, '1e7'))).toMatch(/above the maximum/);
  });

  it('should refuse absurdly long text before parsing it', () => {
    expect(reason(ascii(dbl, '1'.repeat(500)))).toMatch(/too long/);
  });

  it('should round-trip every finite double through its ascii form', () => {
    const open: KeywordDescriptor = { name: 'D', type: 'double', readonly: false };
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const first = fromBinary(open, n);
        if (!first.ok) return false;
        const again = fromAscii(open, first.value.ascii);
        return again.ok && again.value.binary === first.value.binary;
      }),
    );
  });
});

describe('KTL float', () => {
  it('should store float32 precision and print the shortest text that reads back the same', () => {
    expect(value(ascii(flt, '0.1'))).toEqual({ ascii: '0.1', binary: 0.1 });
    expect(value(ascii(flt, '3.14159265358979'))).toEqual({ ascii: '3.1415927', binary: 3.1415927 });
    expect(value(ascii(flt, '16777217'))).toEqual({ ascii: '16777216', binary: 16777216 });
  });

  it('should refuse values outside the float32 range', () => {
    expect(reason(ascii(flt, '1e39'))).toMatch(/float32 range/);
  });

  it('should be stable: casting the canonical form again changes nothing', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const first = fromBinary(flt, n);
        if (!first.ok) return false;
        const again = fromAscii(flt, first.value.ascii);
        return again.ok && again.value.ascii.equals(first.value.ascii) && Math.fround(again.value.binary as number) === Math.fround(n);
      }),
    );
  });
});

describe('KTL enumerated', () => {
  it('should read an enumerator name, ignoring case, or its index', () => {
    expect(value(ascii(enm, 'On'))).toEqual({ ascii: 'On', binary: 1 });
    expect(value(ascii(enm, 'auto'))).toEqual({ ascii: 'Auto', binary: 2 });
    expect(value(ascii(enm, '0'))).toEqual({ ascii: 'Off', binary: 0 });
  });

  it('should refuse unknown names and indexes out of range', () => {
    expect(reason(ascii(enm, 'Maybe'))).toMatch(/not one of Off, On, Auto/);
    expect(reason(ascii(enm, '3'))).toMatch(/not an enumerator index/);
    expect(reason(fromBinary(enm, -1))).toMatch(/not an enumerator index/);
    expect(reason(fromBinary(enm, true))).toMatch(/not an enumerator index/);
  });

  it('should prefer an exact name over an index when names are digits', () => {
    const digits: KeywordDescriptor = { name: 'G', type: 'enumerated', readonly: false, enumerators: ['1', '0'] };
    expect(value(ascii(digits, '0'))).toEqual({ ascii: '0', binary: 1 });
  });
});

describe('inputs and descriptors', () => {
  it('should send text, bytes, numbers and booleans as ascii forms', () => {
    expect(inputToAscii('a:b').toString()).toBe('a:b');
    expect(inputToAscii(1.5).toString()).toBe('1.5');
    expect(inputToAscii(false).toString()).toBe('false');
    expect(inputToAscii(Buffer.from([0])).equals(Buffer.from([0]))).toBe(true);
  });

  it('should start each type at a zero within its range', () => {
    expect(zeroValue(int).binary).toBe(0);
    expect(zeroValue({ name: 'P', type: 'integer', readonly: false, min: 5 }).binary).toBe(5);
    expect(zeroValue(enm).ascii.toString()).toBe('Off');
    expect(zeroValue(bool).binary).toBe(false);
  });

  it('should validate descriptors and name the field that is wrong', () => {
    expect(parseDescriptor({ name: 'X', type: 'quaternion' })).toMatchObject({ ok: false, field: 'type' });
    expect(parseDescriptor({ name: 'bad name', type: 'string' })).toMatchObject({ ok: false, field: 'name' });
    expect(parseDescriptor({ name: 'E', type: 'enumerated', enumerators: [] })).toMatchObject({ ok: false, field: 'enumerators' });
    expect(parseDescriptor({ name: 'E', type: 'enumerated', enumerators: ['a', 'A'] })).toMatchObject({ ok: false, field: 'enumerators[1]' });
    expect(parseDescriptor({ name: 'I', type: 'integer', min: 5, max: 1 })).toMatchObject({ ok: false, field: 'min' });
    expect(parseDescriptor({ name: 'I', type: 'integer', min: 0.5 })).toMatchObject({ ok: false, field: 'min' });
    expect(parseDescriptor({ name: 'R', type: 'boolean', readonly: 'yes' })).toMatchObject({ ok: false, field: 'readonly' });
    expect(parseDescriptor({ name: 'S', type: 'string' })).toMatchObject({ ok: true, descriptor: { maxLength: 65536, readonly: false } });
  });
});
