import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.js';
import { printBinary, printable } from '../../../src/cli/keywords-print.js';
import { parseAssignment } from '../../../src/cli/roles/modify.js';
import { verbosityLevel } from '../../../src/cli/roles/registry.js';

describe('printing values', () => {
  it('should print UTF-8 text as is, ":" included', () => {
    expect(printable(Buffer.from('a:b=c κ'))).toBe('a:b=c κ');
  });

  it('should escape control characters and backslashes so a value stays on one line', () => {
    expect(printable(Buffer.from('a\nb\tc\\d\r\0'))).toBe('a\\nb\\tc\\\\d\\r\\x00');
  });

  it('should print bytes that are not UTF-8 one by one, as \\xNN', () => {
    expect(printable(Buffer.from([0x41, 0xff, 0x3a, 0x80]))).toBe('A\\xff:\\x80');
  });

  it('should print binary forms', () => {
    expect(printBinary(2)).toBe('2');
    expect(printBinary(true)).toBe('true');
    expect(printBinary(Buffer.from('x\n'))).toBe('x\\n');
  });
});

describe('modify arguments', () => {
  it('should split at the first "=" so values keep "=" and ":"', () => {
    expect(parseAssignment('NOTE=a=b:c')).toEqual({ name: 'NOTE', value: 'a=b:c' });
    expect(parseAssignment('NOTE=')).toEqual({ name: 'NOTE', value: '' });
  });

  it('should refuse an argument without "=" or with a bad name', () => {
    expect(() => parseAssignment('NOTE')).toThrow(UsageError);
    expect(() => parseAssignment('BAD NAME=1')).toThrow(UsageError);
  });
});

describe('registry verbosity', () => {
  it('should map -v counts to log levels', () => {
    expect(verbosityLevel(0)).toBeUndefined();
    expect(verbosityLevel(1)).toBe('debug');
    expect(verbosityLevel(3)).toBe('trace');
  });
});
