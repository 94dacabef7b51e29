import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../examples/images/client.js';
import { Broker } from '../../src/api/broker.js';
import { Worker } from '../../src/api/worker.js';
import { ImagesService } from '../../src/services/images.js';
import { ANY } from '../helpers/zmq.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('examples/images/client.ts', () => {
  it('should run against a broker and an api.images worker and print what its README says', async () => {
    const root = mkdtempSync(join(tmpdir(), 'steward-example-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 200 });
    cleanups.push(() => broker.stop());
    const { frontend, backend } = await broker.endpoints();
    const worker = Worker.start({ broker: backend, service: 'api.images', rpc: new ImagesService({ root }) });
    cleanups.push(() => worker.stop());
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    await main({ root, broker: frontend, out });
    expect(printed.split('\n').slice(1, 8)).toEqual([
      'sample.jpeg is jpeg 400x300',
      'resized to sample.150x180.jpeg: jpeg 150x180',
      'remote FileNotFoundError: no such file: missing.jpeg',
      'partial: {"input":"sample.jpeg","output":"sample.64x48.jpeg","width":64,"height":48}',
      'partial: {"input":"missing.jpeg","error":{"name":"FileNotFoundError","message":"no such file: missing.jpeg"}}',
      'partial: {"input":"sample.150x180.jpeg","output":"sample.150x180.64x48.jpeg","width":64,"height":48}',
      'final: {"written":["sample.64x48.jpeg","sample.150x180.64x48.jpeg"],"failed":1}',
    ]);
    expect(printed).toMatch(/^mmi.api.images: (200|404)\n/);
  });
});
