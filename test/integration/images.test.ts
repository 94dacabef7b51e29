import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { Client } from '../../src/api/client.js';
import { RemoteError } from '../../src/api/errors.js';
import { RpcRegistry } from '../../src/api/rpc-registry.js';
import { Worker } from '../../src/api/worker.js';
import { ImagesService, parseSize, resizedName, type ImageInfo } from '../../src/services/images.js';
import { imageFixtures } from '../helpers/images.js';
import { ANY } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fixtures() {
  const f = await imageFixtures();
  cleanups.push(f.cleanup);
  return f.dir;
}

interface ImagesApi {
  resize_image(name: string, size: string): string;
  info(name: string): ImageInfo;
}

describe('api.images service', () => {
  it('should parse WIDTHxHEIGHT and name the output beside the input', () => {
    expect(parseSize('150x180')).toEqual({ width: 150, height: 180 });
    for (const bad of ['150', '150x', 'x180', '0x10', '10x0', '-1x5', '150X180', ' 150x180', '150x180px', '20000x10', 150]) {
      expect(() => parseSize(bad)).toThrow(/expected WIDTHxHEIGHT such as 150x180/);
    }
    expect(resizedName('a.png', 150, 180, 'png')).toBe('a.150x180.png');
    expect(resizedName('sub/photo.jpg', 10, 20, 'jpeg')).toBe('sub/photo.10x20.jpg');
    expect(resizedName('noext', 10, 20, 'jpeg')).toBe('noext.10x20.jpg');
  });

  it('should expose exactly resize_image, resize_images and info over RPC', () => {
    expect(new RpcRegistry().register(new ImagesService()).names()).toEqual(['info', 'resize_image', 'resize_images']);
  });

  it('should resize a PNG and a JPEG to exactly the size asked, beside the original, keeping the format', async () => {
    const dir = await fixtures();
    const events: unknown[] = [];
    const images = new ImagesService({ root: dir, onEvent: (e) => events.push(e) });
    expect(await images.resize_image('a.png', '150x180')).toBe('a.150x180.png');
    expect(await sharp(join(dir, 'a.150x180.png')).metadata()).toMatchObject({ format: 'png', width: 150, height: 180 });
    expect(await images.resize_image('photo.jpg', '64x48')).toBe('photo.64x48.jpg');
    expect(await images.info('photo.64x48.jpg')).toMatchObject({ name: 'photo.64x48.jpg', format: 'jpeg', width: 64, height: 48 });
    expect(await images.info('a.png')).toMatchObject({ format: 'png', width: 300, height: 200 });
    expect(events).toEqual([
      { event: 'resized', input: 'a.png', output: 'a.150x180.png', width: 150, height: 180, format: 'png' },
      { event: 'resized', input: 'photo.jpg', output: 'photo.64x48.jpg', width: 64, height: 48, format: 'jpeg' },
    ]);
  });

  it('should refuse paths leading outside its root, by name or by symlink', async () => {
    const dir = await fixtures();
    const outside = mkdtempSync(join(tmpdir(), 'steward-outside-'));
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).png().toFile(join(outside, 'secret.png'));
    symlinkSync(join(outside, 'secret.png'), join(dir, 'link.png'));
    const images = new ImagesService({ root: dir });
    await expect(images.info('../secret.png')).rejects.toMatchObject({ name: 'PathOutsideRootError' });
    await expect(images.info(join(outside, 'secret.png'))).rejects.toMatchObject({ name: 'PathOutsideRootError' });
    await expect(images.resize_image('link.png', '5x5')).rejects.toMatchObject({ name: 'PathOutsideRootError', message: 'link.png leads outside the served directory' });
  });

  it('should say clearly what is wrong with a missing file, a directory, a non-image, an unsupported format or a bad name', async () => {
    const dir = await fixtures();
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    const images = new ImagesService({ root: dir });
    await expect(images.info('missing.png')).rejects.toMatchObject({ name: 'FileNotFoundError', message: 'no such file: missing.png' });
    await expect(images.info('folder')).rejects.toMatchObject({ name: 'FileNotFoundError', message: 'not a file: folder' });
    await expect(images.info('notes.txt')).rejects.toMatchObject({ name: 'UnsupportedImageError', message: expect.stringMatching(/^notes.txt is not an image/) });
    await expect(images.info('vector.svg')).rejects.toMatchObject({ name: 'UnsupportedImageError', message: expect.stringMatching(/^vector.svg is svg, which api.images does not handle/) });
    await expect(images.resize_image('a.png', 'big')).rejects.toMatchObject({ name: 'InvalidSizeError' });
    await expect(images.info(42 as unknown as string)).rejects.toMatchObject({ name: 'TypeError', message: 'name must be a file name, got 42' });
  });

  it('should serve resize_image and info through a broker, bad input reaching the client as RemoteError', async () => {
    const dir = await fixtures();
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200 });
    cleanups.push(() => broker.stop());
    const { frontend, backend } = await broker.endpoints();
    const worker = Worker.start({ broker: backend, service: 'api.images', rpc: new ImagesService({ root: dir }), concurrency: 4 });
    cleanups.push(() => worker.stop());
    const client = new Client({ broker: frontend, timeout: 10_000, waitForWorker: true });
    cleanups.push(() => client.close());
    const images = client.rpc<ImagesApi>('api.images');
    expect(await images.resize_image('a.png', '150x180')).toBe('a.150x180.png');
    expect(await images.info('a.150x180.png')).toMatchObject({ format: 'png', width: 150, height: 180 });
    const sizes = await Promise.all(['10x10', '20x20', '30x30', '40x40'].map((s) => images.resize_image('photo.jpg', s)));
    expect(sizes).toEqual(['photo.10x10.jpg', 'photo.20x20.jpg', 'photo.30x30.jpg', 'photo.40x40.jpg']);
    const missing = await images.info('nope.png').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RemoteError);
    expect(missing).toMatchObject({ remoteName: 'FileNotFoundError', message: 'no such file: nope.png', method: 'info' });
    await expect(images.resize_image('a.png', '150by180')).rejects.toMatchObject({ remoteName: 'InvalidSizeError' });
    await expect(images.resize_image('notes.txt', '10x10')).rejects.toMatchObject({ remoteName: 'UnsupportedImageError' });
    await expect(images.info('../../etc/passwd')).rejects.toMatchObject({ remoteName: 'PathOutsideRootError' });
  });

  it('should stream resize_images through a broker: one partial per picture as it is written, bad ones said, then the list written', async () => {
    const dir = await fixtures();
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200 });
    cleanups.push(() => broker.stop());
    const { frontend, backend } = await broker.endpoints();
    const worker = Worker.start({ broker: backend, service: 'api.images', rpc: new ImagesService({ root: dir }) });
    cleanups.push(() => worker.stop());
    const client = new Client({ broker: frontend, timeout: 10_000, waitForWorker: true });
    cleanups.push(() => client.close());
    const parts: Array<[unknown, boolean]> = [];
    for await (const part of client.invokeStream('api.images', 'resize_images', ['32x24', 'a.png', 'missing.png', 'photo.jpg'])) {
      parts.push([part.value, part.final]);
      // Each partial comes once its picture is on disk.
      const value = part.value as { output?: string };
      if (!part.final && value.output !== undefined) expect(await sharp(join(dir, value.output)).metadata()).toMatchObject({ width: 32, height: 24 });
    }
    expect(parts).toEqual([
      [{ input: 'a.png', output: 'a.32x24.png', width: 32, height: 24 }, false],
      [{ input: 'missing.png', error: { name: 'FileNotFoundError', message: 'no such file: missing.png' } }, false],
      [{ input: 'photo.jpg', output: 'photo.32x24.jpg', width: 32, height: 24 }, false],
      [{ written: ['a.32x24.png', 'photo.32x24.jpg'], failed: 1 }, true],
    ]);
    // A unary call gets the summary alone; arguments that cannot work fail before any picture.
    expect(await client.invoke('api.images', 'resize_images', ['8x8', 'a.png'])).toEqual({ written: ['a.8x8.png'], failed: 0 });
    await expect(client.invoke('api.images', 'resize_images', ['8x8'])).rejects.toMatchObject({ remoteName: 'TypeError' });
    await expect(client.invoke('api.images', 'resize_images', ['big', 'a.png'])).rejects.toMatchObject({ remoteName: 'InvalidSizeError' });
    // A name that is not a string is that picture's error, not the stream's.
    const oneBad = await client.stream('api.images', [JSON.stringify({ method: 'resize_images', args: ['8x8', 42] })]).collect();
    expect(oneBad.map((p) => p.json())).toEqual([{ input: 42, error: { name: 'TypeError', message: 'name must be a file name, got 42' } }, { written: [], failed: 1 }]);
  });
});
