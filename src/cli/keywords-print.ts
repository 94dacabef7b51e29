/**
 * How `show` and `modify` print values: one `NAME = VALUE` line each, so a
 * value must never break the line. Valid UTF-8 prints as text with control
 * characters escaped; anything else prints byte by byte, non-printable bytes
 * as \xNN. A backslash is doubled so the escapes stay unambiguous.
 */
import type { BinaryValue } from '../protocol/ktl-types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function escapeChar(code: number): string {
  switch (code) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x5c:
      return '\\\\';
    default:
      return `\\x${code.toString(16).padStart(2, '0')}`;
  }
}

export function printable(bytes: Buffer): string {
  let text: string | undefined;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = undefined;
  }
  let out = '';
  if (text !== undefined) {
    for (const ch of text) {
      const code = ch.codePointAt(0) as number;
      out += code < 0x20 || code === 0x7f || code === 0x5c ? escapeChar(code) : ch;
    }
    return out;
  }
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : escapeChar(b);
  return out;
}

export function printBinary(value: BinaryValue): string {
  return Buffer.isBuffer(value) ? printable(value) : String(value);
}

export function line(name: string, value: string): string {
  return `${name} = ${value}\n`;
}
