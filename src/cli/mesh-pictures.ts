import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UsageError } from './errors.js';
import type { Logger } from '../log.js';

/** What the mesh's api.images worker serves, and the picture its printed commands name. */
export interface MeshPictures {
  readonly root: string;
  /** A file name in `root` the printed `--rpc api.images ...` commands use. */
  readonly picture: string;
  /** Whether `root` is a folder made for this run (removed when the mesh stops). */
  readonly temporary: boolean;
  /** Removes a temporary root; safe to call again, a no-op for a root the user gave. */
  remove(): void;
}

export const SAMPLE_PICTURE = 'sample.png';

// Names a printed command can carry as one shell word.
const PICTURE = /^[\w.-]+\.(jpe?g|png|webp|gif|tiff?)$/i;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A 320x200 PNG, drawn rather than shipped: no binary file in the repository, and sharp is there anyway. */
async function drawSample(path: string): Promise<void> {
  await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 42, g: 90, b: 154 } } })
    .png()
    .toFile(path);
}

/**
 * The pictures of `npm start`'s api.images worker, so that its printed
 * `--rpc api.images info ...` answers: by default a private temporary folder
 * with a sample picture, removed when the mesh stops; with `--images-root
 * DIR`, the first picture in DIR by name, or a sample drawn there when it has none.
 */
export async function meshPictures(given: string | undefined, logger: Logger): Promise<MeshPictures> {
  if (given !== undefined) {
    let names: string[];
    try {
      names = readdirSync(given);
    } catch {
      throw new UsageError(`--images-root ${given}: no such directory`, '--images-root ./pictures');
    }
    const found = names.filter((n) => PICTURE.test(n) && isFile(join(given, n))).sort()[0];
    if (found !== undefined) return { root: given, picture: found, temporary: false, remove: () => undefined };
    await drawSample(join(given, SAMPLE_PICTURE));
    logger.info({ root: given, picture: SAMPLE_PICTURE }, 'mesh: no picture in --images-root; drew a sample there');
    return { root: given, picture: SAMPLE_PICTURE, temporary: false, remove: () => undefined };
  }
  const root = mkdtempSync(join(tmpdir(), 'steward-mesh-images-'));
  const removeDir = () => rmSync(root, { recursive: true, force: true });
  // close() removes it; a second Ctrl-C (or a failed start) exits without close, so the exit does.
  process.once('exit', removeDir);
  await drawSample(join(root, SAMPLE_PICTURE));
  return {
    root,
    picture: SAMPLE_PICTURE,
    temporary: true,
    remove: () => {
      process.off('exit', removeDir);
      removeDir();
    },
  };
}
