/**
 * The allow-list of a CURVE server: the Z85 public keys of the clients it
 * accepts, one per line. `#` starts a comment, on its own line or after the
 * key. '#' is also a Z85 character, so a key may contain it (though never
 * begin with it: that would spell more than 32 bits), and a trailing comment
 * needs a space before it. Blank lines are ignored.
 *
 *     # workers
 *     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   # images-1
 */
import { ConfigError } from '../config/errors.js';
import { readSmallFile } from './keys.js';
import { isZ85Key } from './z85.js';

/** About 100,000 keys. */
const MAX_ALLOW_LIST_BYTES = 4 * 1024 * 1024;

const FIX = 'one public key (40 Z85 characters, as `steward keygen` prints it) per line; comments start with #';

export function parseAllowList(text: string, file: string): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(/\s+/);
    const trailing = rest.join(' ');
    if (!isZ85Key(key)) {
      const shown = key.length > 60 ? `${key.slice(0, 60)}...` : key;
      const hint = key.startsWith('public-key') || key.startsWith('secret-key') ? ' (write the key alone, without "public-key =")' : '';
      throw new ConfigError(file, `line ${i + 1}`, `"${shown}" is not a CURVE public key${hint}`, FIX);
    }
    if (trailing !== '' && !trailing.startsWith('#')) {
      throw new ConfigError(file, `line ${i + 1}`, `unexpected "${trailing.slice(0, 40)}" after the key`, FIX);
    }
    if (!seen.has(key)) {
      seen.add(key);
      keys.push(key);
    }
  }
  return keys;
}

/** Reads and checks an allow-list file. Throws ConfigError naming the file and line. */
export async function loadAllowList(file: string): Promise<string[]> {
  return parseAllowList(await readSmallFile(file, 'file', `create it: ${FIX}`, MAX_ALLOW_LIST_BYTES), file);
}
