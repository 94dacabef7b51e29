/**
 * `api.images`, the example service of the butler seed, for real: resize an
 * image file and describe one, with sharp (libvips). Served over RPC by
 * `steward --role worker --service api.images`; its methods are the remote
 * API, so their names are butler's (`resize_image`, `info`).
 *
 * Files are read and written only inside `root`: names are resolved against
 * it, and a name or a symlink leading outside is refused.
 */
import { randomBytes } from 'node:crypto';
import { readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FormatEnum, Metadata, Sharp } from 'sharp';
import type { JsonValue } from '../protocol/json.js';

export interface ImagesOptions {
  /** The directory served; names are relative to it. Default: the current directory. */
  readonly root?: string;
  /** Largest input file, in bytes (default 64 MiB). */
  readonly maxFileBytes?: number;
  /** Largest width or height asked for (default 10000). */
  readonly maxDimension?: number;
  /** Largest input image, in pixels (default 100 megapixels): a small file may decode to a huge image. */
  readonly maxInputPixels?: number;
  /** Told of each image written, e.g. to `worker.emit` it to a sink. */
  readonly onEvent?: (event: JsonValue) => void;
  /** Most names one `resize_images` call takes (default 1000). */
  readonly maxBatch?: number;
}

/** One picture of a `resize_images` stream: written, or why not. */
export type ResizedPicture =
  | { readonly input: string; readonly output: string; readonly width: number; readonly height: number }
  | { readonly input: string; readonly error: { readonly name: string; readonly message: string } };

export interface ImageInfo {
  readonly name: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

/** The formats read and written; others (SVG, PDF, RAW...) are refused. */
export const IMAGE_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff']);

export class FileNotFoundError extends Error {
  override readonly name = 'FileNotFoundError';
}
export class PathOutsideRootError extends Error {
  override readonly name = 'PathOutsideRootError';
}
export class InvalidSizeError extends Error {
  override readonly name = 'InvalidSizeError';
}
export class UnsupportedImageError extends Error {
  override readonly name = 'UnsupportedImageError';
}
export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
}

const SIZE = /^(\d{1,6})x(\d{1,6})$/;

/** "150x180" to numbers, or an InvalidSizeError saying what is expected. */
export function parseSize(size: unknown, maxDimension = 10_000): { width: number; height: number } {
  const match = typeof size === 'string' ? SIZE.exec(size) : null;
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (!match || width < 1 || height < 1 || width > maxDimension || height > maxDimension) {
    throw new InvalidSizeError(`bad size ${JSON.stringify(size ?? null)}: expected WIDTHxHEIGHT such as 150x180, each from 1 to ${maxDimension}`);
  }
  return { width, height };
}

/** `a.png` + 150x180 -> `a.150x180.png`, beside it. */
export function resizedName(name: string, width: number, height: number, format: string): string {
  const ext = extname(name);
  const stem = ext.length > 0 ? basename(name, ext) : basename(name);
  return join(dirname(name), `${stem}.${width}x${height}${ext.length > 0 ? ext : `.${format === 'jpeg' ? 'jpg' : format}`}`);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/**
 * Every method not starting with `#` is remotely callable once registered,
 * TypeScript's `private` notwithstanding: helpers are `#private`.
 */
export class ImagesService {
  private readonly root: string;
  private realRoot: string | undefined;
  private readonly maxFileBytes: number;
  private readonly maxDimension: number;
  private readonly maxInputPixels: number;
  private readonly onEvent: ((event: JsonValue) => void) | undefined;
  private readonly maxBatch: number;

  constructor(options: ImagesOptions = {}) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.root = resolve(options.root ?? '.');
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
    this.maxDimension = options.maxDimension ?? 10_000;
    this.maxInputPixels = options.maxInputPixels ?? 100_000_000;
    this.onEvent = options.onEvent;
  }

  /** Resizes `name` to exactly `size` (cropping to keep the aspect ratio), writes it beside, returns the new name. */
  async resize_image(name: string, size: string): Promise<string> {
    const { width, height } = parseSize(size, this.maxDimension);
    const file = await this.#locate(name);
    const { image, format } = await this.#open(file.path, name);
    const output = resizedName(file.name, width, height, format);
    const outputPath = resolve(this.root, output);
    let data: Buffer;
    try {
      data = await image.resize(width, height, { fit: 'cover' }).toFormat(format as keyof FormatEnum).toBuffer();
    } catch (error) {
      throw new UnsupportedImageError(`${name}: could not resize (${error instanceof Error ? error.message : String(error)})`);
    }
    await this.#writeBeside(outputPath, data);
    this.onEvent?.({ event: 'resized', input: file.name, output, width, height, format });
    return output;
  }

  /**
   * Resizes each of `names` to `size` as `resize_image` does, one after the
   * other, streaming one partial reply per picture as it is written (or why
   * it was not: a bad picture does not stop the others), and returns what was
   * written. A caller that stops reading, or cancels, stops it between
   * pictures. The size comes first so that names can follow from a shell:
   * `--stream --rpc api.images resize_images 150x180 a.png b.png`.
   */
  async *resize_images(size: string, ...names: string[]): AsyncGenerator<ResizedPicture, { written: string[]; failed: number }, undefined> {
    const { width, height } = parseSize(size, this.maxDimension);
    if (names.length === 0 || names.length > this.maxBatch) throw new TypeError(`give 1 to ${this.maxBatch} file names after the size, got ${names.length}`);
    const written: string[] = [];
    let failed = 0;
    for (const name of names) {
      try {
        const output = await this.resize_image(name, size);
        written.push(output);
        yield { input: name, output, width, height };
      } catch (error) {
        failed += 1;
        const e = error instanceof Error ? error : new Error(String(error));
        yield { input: name, error: { name: e.name, message: e.message } };
      }
    }
    return { written, failed };
  }

  /** Format, dimensions and size in bytes of `name`. */
  async info(name: string): Promise<ImageInfo> {
    const file = await this.#locate(name);
    const { meta, format } = await this.#open(file.path, name);
    return { name: file.name, format, width: meta.width ?? 0, height: meta.height ?? 0, bytes: file.bytes };
  }

  /** Resolves a name inside the root, following symlinks only where they stay inside it. */
  async #locate(name: unknown): Promise<{ path: string; name: string; bytes: number }> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 4096 || name.includes('\0')) {
      throw new TypeError(`name must be a file name, got ${JSON.stringify(name ?? null)}`);
    }
    const path = resolve(this.root, name);
    if (!isInside(this.root, path)) throw new PathOutsideRootError(`${name} is outside the served directory`);
    this.realRoot ??= await realpath(this.root);
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw new FileNotFoundError(`no such file: ${name}`);
      throw error;
    }
    if (!isInside(this.realRoot, real)) throw new PathOutsideRootError(`${name} leads outside the served directory`);
    const info = await stat(real);
    if (!info.isFile()) throw new FileNotFoundError(`not a file: ${name}`);
    if (info.size > this.maxFileBytes) throw new FileTooLargeError(`${name} is ${info.size} bytes, more than the ${this.maxFileBytes} allowed`);
    return { path: real, name: relative(this.root, path), bytes: info.size };
  }

  async #open(path: string, name: string): Promise<{ image: Sharp; meta: Metadata; format: string }> {
    // Read the bytes first: sharp opening the path itself would also open FIFOs and devices.
    const data = await readFile(path);
    // Loaded on first use (libvips is the heaviest import steward has).
    const { default: sharp } = await import('sharp');
    const image = sharp(data, { limitInputPixels: this.maxInputPixels });
    let meta: Metadata;
    try {
      meta = await image.metadata();
    } catch (error) {
      throw new UnsupportedImageError(`${name} is not an image (${error instanceof Error ? error.message : String(error)})`);
    }
    const format = meta.format ?? 'unknown';
    if (!IMAGE_FORMATS.has(format)) {
      throw new UnsupportedImageError(`${name} is ${format}, which api.images does not handle; give a ${[...IMAGE_FORMATS].join(', ')} file`);
    }
    return { image, meta, format };
  }

  /** Writes through a temporary file renamed into place, so a symlink at the target is replaced, never followed. */
  async #writeBeside(path: string, data: Buffer): Promise<void> {
    const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temporary, data, { flag: 'wx' });
    try {
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }
}
