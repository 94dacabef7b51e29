import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** A temp directory with a 300x200 PNG, a 640x480 JPEG and a text file; `cleanup()` removes it. */
export async function imageFixtures(): Promise<{ dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-images-'));
  await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 40, g: 90, b: 160, alpha: 1 } } }).png().toFile(join(dir, 'a.png'));
  await sharp({ create: { width: 640, height: 480, channels: 3, background: '#c0ffee' } }).jpeg({ quality: 80 }).toFile(join(dir, 'photo.jpg'));
  writeFileSync(join(dir, 'notes.txt'), 'not an image\n');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
