import type { RoleDefinition } from '../role.js';
import { flagBool, flagString } from '../flags.js';
import { formatKeyFile, generateKeyPair, writeKeyFile } from '../../security/keys.js';

export const keygenRole: RoleDefinition = {
  name: 'keygen',
  summary: 'make a CURVE key pair for --curve-secret-key-file (and print its public key)',
  usage: `Usage: steward keygen [--out FILE] [--force]

Makes a CURVE key pair. With --out, writes it to FILE (mode 0600, never
replacing a file unless --force) and prints the public key alone, ready to
append to a server's allow-list. Without --out, prints the key file itself.

The file holds "public-key = KEY" and "secret-key = KEY" (Z85, 40 characters);
see docs/security.md.

Flags:
  --out FILE      where to write the pair
  --force         replace FILE if it exists

Examples:
  steward keygen --out broker.key
  steward keygen --out worker.key >> broker.allow`,
  options: {
    out: { type: 'string' },
    force: { type: 'boolean' },
  },
  async start(ctx) {
    const pair = generateKeyPair();
    const out = flagString(ctx.flags, 'out');
    const comment = `steward CURVE key pair, made ${new Date().toISOString()}`;
    if (out === undefined) {
      ctx.out.write(formatKeyFile(pair, comment));
      return { done: Promise.resolve(0) };
    }
    await writeKeyFile(out, pair, { overwrite: flagBool(ctx.flags, 'force'), comment });
    ctx.out.write(`${pair.publicKey}\n`);
    return { done: Promise.resolve(0) };
  },
};
