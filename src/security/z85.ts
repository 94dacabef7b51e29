/**
 * Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 4 bytes to 5 printable
 * characters. zeromq.js takes and gives keys as Z85 strings, but ZAP hands
 * the handler the client's key as 32 raw bytes, so the allow-list needs both
 * directions. Pure; bad input yields undefined, never a throw.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** A CURVE key is 32 bytes, 40 characters of Z85. */
export const CURVE_KEY_BYTES = 32;
export const CURVE_KEY_Z85_LENGTH = 40;

export function z85Encode(bytes: Uint8Array): string | undefined {
  if (bytes.length % 4 !== 0) return undefined;
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i] as number) * 0x1000000 + ((bytes[i + 1] as number) << 16) + ((bytes[i + 2] as number) << 8) + (bytes[i + 3] as number)) >>> 0;
    const chunk: string[] = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = ALPHABET[value % 85] as string;
      value = Math.floor(value / 85);
    }
    out += chunk.join('');
  }
  return out;
}

export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? (DECODE[code] as number) : -1;
      if (digit < 0) return undefined;
      value = value * 85 + digit;
    }
    // Five digits can spell more than 32 bits; such text is no encoding of any bytes.
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** True for 40 Z85 characters that decode to 32 bytes: the shape of a CURVE key. */
export function isZ85Key(text: string): boolean {
  return text.length === CURVE_KEY_Z85_LENGTH && z85Decode(text) !== undefined;
}
