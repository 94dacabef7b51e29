import { describe, expect, it } from 'vitest';
import { IniSyntaxError, parseIni } from '../../../src/config/ini.js';

describe('INI parser', () => {
  it('should read sections, key = value and key: value lines', () => {
    const doc = parseIni('[zmq]\nhost = localhost\nport: 6510\n\n[other]\nx=1\n');
    expect(doc.names()).toEqual(['zmq', 'other']);
    expect(doc.get('zmq', 'host')?.value).toBe('localhost');
    expect(doc.get('zmq', 'port')?.value).toBe('6510');
    expect(doc.get('other', 'x')).toMatchObject({ value: '1', line: 6 });
  });

  it('should skip # and ; comments and blank lines, but keep # inside values', () => {
    const doc = parseIni('# top\n; also\n[s]\n  # indented comment\nurl = http://h/#frag\n');
    expect(doc.get('s', 'url')?.value).toBe('http://h/#frag');
    expect(doc.section('s')?.entries).toHaveLength(1);
  });

  it('should keep every value of a repeated key, in order, and let the last one win for get', () => {
    const doc = parseIni('[blastbeat:example.com]\nnode = one\nnode = two\nnode = three\n');
    expect(doc.getAll('blastbeat:example.com', 'node').map((e) => e.value)).toEqual(['one', 'two', 'three']);
    expect(doc.get('blastbeat:example.com', 'node')?.value).toBe('three');
  });

  it('should merge a section whose header appears twice', () => {
    const doc = parseIni('[a]\nx = 1\n[b]\ny = 2\n[a]\nz = 3\n');
    expect(doc.names()).toEqual(['a', 'b']);
    expect(doc.section('a')?.entries.map((e) => e.key)).toEqual(['x', 'z']);
  });

  it('should match keys ignoring case but keep section names as written', () => {
    const doc = parseIni('[Zmq-Router]\nFirst-Port = 1\n');
    expect(doc.get('Zmq-Router', 'first-port')?.value).toBe('1');
    expect(doc.section('zmq-router')).toBeUndefined();
  });

  it('should split at the first delimiter so values keep "=" and ":"', () => {
    const doc = parseIni('[s]\nbind = 0.0.0.0:8080\nexpr = a=b\n');
    expect(doc.get('s', 'bind')?.value).toBe('0.0.0.0:8080');
    expect(doc.get('s', 'expr')?.value).toBe('a=b');
  });

  it('should put keys before any header in the unnamed section, accept CRLF and a BOM, and allow empty values', () => {
    const doc = parseIni('\uFEFFtop = 1\r\n[s]\r\nempty =\r\n');
    expect(doc.get('', 'top')?.value).toBe('1');
    expect(doc.get('s', 'empty')?.value).toBe('');
  });

  it('should report the line of a syntax error with a fix', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['[s]\njust words\n', 2, /neither a section/],
      ['[s\n', 1, /malformed section header/],
      ['[]\n', 1, /empty section name/],
      ['[s]\n= value\n', 2, /missing key/],
    ];
    for (const [text, line, problem] of cases) {
      try {
        parseIni(text);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(IniSyntaxError);
        expect((error as IniSyntaxError).line).toBe(line);
        expect((error as IniSyntaxError).problem).toMatch(problem);
        expect((error as IniSyntaxError).fix.length).toBeGreaterThan(0);
      }
    }
  });

  it('should refuse files, lines and entry counts over the limits', () => {
    const limits = { maxBytes: 100, maxLineLength: 20, maxEntries: 2 };
    expect(() => parseIni('x'.repeat(101), limits)).toThrow(/larger than 100 bytes/);
    expect(() => parseIni(`[s]\nk = ${'v'.repeat(30)}\n`, limits)).toThrow(/longer than 20/);
    expect(() => parseIni('[s]\na=1\nb=2\nc=3\n', limits)).toThrow(/more than 2 entries/);
  });
});
