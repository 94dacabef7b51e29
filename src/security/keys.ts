/**
 * CURVE key pairs and their files.
 *
 * A key file is text, one `name = value` per line, `#` starts a comment:
 *
 *     # steward CURVE key pair: keep this file secret (mode 0600)
 *     public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
 *     secret-key = JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6
 *
 * `public-key` may be left out (it is derived from the secret one). CZMQ's
 * zcert files (`curve` section, quoted values, a `metadata` section) read
 * the same way, so keys made by other ZeroMQ tools work unchanged.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import * as zmq from 'zeromq';
import { ConfigError } from '../config/errors.js';
import { CURVE_KEY_Z85_LENGTH, isZ85Key, z85Decode, z85Encode } from './z85.js';

export interface CurveKeyPair {
  /** Z85, 40 characters: give it to peers. */
  readonly publicKey: string;
  /** Z85, 40 characters: never leaves this host. */
  readonly secretKey: string;
}

/** Key files are a few lines; anything much larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const KEYGEN_FIX = 'make a new pair with `steward keygen --out FILE`';

// DER wrappers that let node's crypto treat 32 raw bytes as an X25519 key (RFC 8410).
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The public half of a CURVE secret key (CURVE keys are X25519 keys), or undefined for a malformed key. */
export function derivePublicKey(secretKey: string): string | undefined {
  const raw = isZ85Key(secretKey) ? z85Decode(secretKey) : undefined;
  if (!raw) return undefined;
  try {
    const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    return z85Encode(spki.subarray(spki.length - 32));
  } catch {
    return undefined;
  }
}

/** A fresh pair from libzmq (libsodium's randomness). */
export function generateKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { publicKey, secretKey };
}

/** The text of a key file for `pair`. */
export function formatKeyFile(pair: CurveKeyPair, comment = 'steward CURVE key pair'): string {
  return [
    `# ${comment}`,
    '# Keep this file secret (mode 0600). Give peers the public key only:',
    '# servers list it in their --curve-allow file, clients pass it as --curve-server-key.',
    `public-key = ${pair.publicKey}`,
    `secret-key = ${pair.secretKey}`,
    '',
  ].join('\n');
}

interface KeyFileFields {
  publicKey?: { value: string; line: number };
  secretKey?: { value: string; line: number };
  /** A file holding nothing but one key (a public key handed out as a file). */
  bareKey?: { value: string; line: number };
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function scanKeyFile(text: string, file: string): KeyFileFields {
  const fields: KeyFileFields = {};
  let section = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // A file that is just one key ('=' is a Z85 digit, so this comes before the split).
    if (isZ85Key(line) && fields.bareKey === undefined && fields.publicKey === undefined && fields.secretKey === undefined) {
      fields.bareKey = { value: line, line: i + 1 };
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) {
      // zcert section headers.
      if (/^[a-z-]+$/.test(line)) {
        section = line;
        continue;
      }
      throw new ConfigError(file, `line ${i + 1}`, `"${line.slice(0, 60)}" is neither "name = value" nor a comment`, 'write `public-key = KEY` and `secret-key = KEY`, or ' + KEYGEN_FIX);
    }
    const name = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1).trim());
    if (section === 'metadata') continue;
    if (name === 'public-key') fields.publicKey = { value, line: i + 1 };
    else if (name === 'secret-key') fields.secretKey = { value, line: i + 1 };
    else throw new ConfigError(file, name, 'unknown field', 'a key file holds public-key and secret-key only');
  }
  if (fields.bareKey && (fields.publicKey || fields.secretKey)) {
    throw new ConfigError(file, `line ${fields.bareKey.line}`, 'a bare key beside named fields', 'write it as `public-key = KEY`');
  }
  return fields;
}

function checkKey(file: string, field: string, value: string): void {
  if (!isZ85Key(value)) {
    throw new ConfigError(
      file,
      field,
      `"${value.length > 60 ? `${value.slice(0, 60)}...` : value}" is not a CURVE key (${CURVE_KEY_Z85_LENGTH} characters of Z85)`,
      KEYGEN_FIX,
    );
  }
}

/** A key pair from the text of a key file. Throws ConfigError naming the file, the field and the fix. */
export function parseKeyFile(text: string, file: string): CurveKeyPair {
  const fields = scanKeyFile(text, file);
  if (!fields.secretKey) {
    throw new ConfigError(
      file,
      'secret-key',
      fields.publicKey || fields.bareKey ? 'missing: this file holds a public key only' : 'missing',
      `give the file of the pair (with secret-key = KEY), or ${KEYGEN_FIX}`,
    );
  }
  checkKey(file, 'secret-key', fields.secretKey.value);
  const derived = derivePublicKey(fields.secretKey.value);
  if (derived === undefined) throw new ConfigError(file, 'secret-key', 'is not a usable CURVE secret key', KEYGEN_FIX);
  if (fields.publicKey) {
    checkKey(file, 'public-key', fields.publicKey.value);
    if (fields.publicKey.value !== derived) {
      throw new ConfigError(file, 'public-key', 'does not belong to the secret-key in the same file', `remove the public-key line (it is derived) or ${KEYGEN_FIX}`);
    }
  }
  return { publicKey: derived, secretKey: fields.secretKey.value };
}

/** The public key in a key file: its public-key line, the one derived from its secret-key, or its only line. */
export function parsePublicKeyFile(text: string, file: string): string {
  const fields = scanKeyFile(text, file);
  if (fields.bareKey) return fields.bareKey.value;
  if (fields.secretKey) return parseKeyFile(text, file).publicKey;
  if (!fields.publicKey) throw new ConfigError(file, 'public-key', 'missing', 'write `public-key = KEY` (the server\'s public key)');
  checkKey(file, 'public-key', fields.publicKey.value);
  return fields.publicKey.value;
}

/** Reads a file, bounded, turning I/O failures into ConfigErrors that say what to do. */
export async function readSmallFile(file: string, what: string, fix: string, maxBytes = MAX_KEY_FILE_BYTES): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    const problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code})`;
    throw new ConfigError(file, what, problem, fix);
  }
  if (data.length > maxBytes) throw new ConfigError(file, what, `is ${data.length} bytes, more than ${maxBytes}`, fix);
  return data.toString('utf8');
}

export async function loadKeyPair(file: string): Promise<CurveKeyPair> {
  return parseKeyFile(await readSmallFile(file, 'file', KEYGEN_FIX), file);
}

/**
 * A server's public key given on the command line: the 40-character key
 * itself, or a file holding it (a key file, or a file of just the key).
 */
export async function resolvePublicKey(keyOrFile: string): Promise<string> {
  // '/', '.' and '-' are Z85 digits, so a 40-character path reads as a key
  // too (`/tmp/steward-mesh-keys-AbC123/server.pub` is one): a file that exists wins.
  if (isZ85Key(keyOrFile) && !(await isFile(keyOrFile))) return keyOrFile;
  return parsePublicKeyFile(await readSmallFile(keyOrFile, 'file', 'give the server\'s public key (40 Z85 characters) or a file holding it'), keyOrFile);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes a key file readable by its owner only (0600). Refuses to replace an
 * existing file unless `overwrite`: losing a secret key locks out every peer
 * that trusts it.
 */
export async function writeKeyFile(file: string, pair: CurveKeyPair, options: { overwrite?: boolean; comment?: string } = {}): Promise<void> {
  try {
    await writeFile(file, formatKeyFile(pair, options.comment), { mode: 0o600, flag: options.overwrite ? 'w' : 'wx' });
    // `mode` only applies to a file that is created; an overwritten one keeps its own.
    await chmod(file, 0o600);
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    if (code === 'EEXIST') throw new ConfigError(file, 'file', 'exists already', 'choose another name, or pass --force to replace it (peers trusting the old key lose access)');
    throw new ConfigError(file, 'file', `cannot write it (${code})`, 'check that the directory exists and is writable');
  }
}
