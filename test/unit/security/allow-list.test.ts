import * as zmq from 'zeromq';
import { describe, expect, it } from 'vitest';
import { parseAllowList } from '../../../src/security/allow-list.js';

const a = zmq.curveKeyPair().publicKey;
const b = zmq.curveKeyPair().publicKey;

describe('allow-list files', () => {
  it('should read one key per line with comments and blank lines, once each', () => {
    const text = `# workers\n\n${a}   # images-1\n  ${b}\n${a}\n`;
    expect(parseAllowList(text, 'x.allow')).toEqual([a, b]);
  });

  it('should take keys holding "#" and "=", and treat a line opening with "#" as a comment', () => {
    const odd = 'a=b#c'.repeat(8);
    expect(parseAllowList(`${odd} # odd but valid\n# ${b}\n`, 'x.allow')).toEqual([odd]);
  });

  it('should name the line and say what a line must be', () => {
    expect(() => parseAllowList(`${a}\nnot-a-key\n`, 'x.allow')).toThrow(/x\.allow: line 2: "not-a-key" is not a CURVE public key/);
    expect(() => parseAllowList(`public-key = ${a}\n`, 'x.allow')).toThrow(/without "public-key ="/);
    expect(() => parseAllowList(`${a} trailing\n`, 'x.allow')).toThrow(/line 1: unexpected "trailing"/);
  });

  it('should accept an empty list (only the server\'s own key is then let in)', () => {
    expect(parseAllowList('# nobody yet\n', 'x.allow')).toEqual([]);
  });
});
