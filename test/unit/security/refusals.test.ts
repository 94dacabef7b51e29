import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/metrics.js';
import { AUTH_REFUSED_METRIC, RefusalLog } from '../../../src/security/refusals.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('refusal log', () => {
  it('should count every refusal and log each peer once per interval, with the repeats summed', async () => {
    let t = 0;
    const metrics = new Metrics('test');
    const { lines, logger } = capture();
    const log = new RefusalLog('broker', metrics, logger, 10_000, () => t);
    for (let i = 0; i < 5; i++) log.refused('unknown_key', { address: '192.0.2.1', key: 'K1' });
    log.refused('unknown_key', { address: '192.0.2.2', key: 'K2' });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l['key'])).toEqual(['K1', 'K2']);
    expect(lines[0]).toMatchObject({ msg: 'peer refused', server: 'broker', reason: 'unknown_key', address: '192.0.2.1' });
    t = 10_000;
    log.refused('unknown_key', { address: '192.0.2.1', key: 'K1' });
    await new Promise((r) => setImmediate(r));
    expect(lines[2]).toMatchObject({ key: 'K1', suppressed: 4 });
    expect(await metrics.value(AUTH_REFUSED_METRIC, { server: 'broker', reason: 'unknown_key' })).toBe(7);
  });

  it('should cap the lines a flood of fresh keys can write, and count them all', async () => {
    const metrics = new Metrics('test');
    const { lines, logger } = capture();
    const log = new RefusalLog('registry', metrics, logger, 10_000, () => 0);
    for (let i = 0; i < 5_000; i++) log.refused('unknown_key', { address: '192.0.2.9', key: `K${i}` });
    await new Promise((r) => setImmediate(r));
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(await metrics.value(AUTH_REFUSED_METRIC, { server: 'registry' })).toBe(5_000);
  });
});
