import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from '../../src/api/registry.js';
import { Dispatcher } from '../../src/api/dispatcher.js';
import { KeywordClient } from '../../src/api/keywords/index.js';
import { parseKeywordsFile } from '../../src/config/keywords-file.js';
import { DEFAULT_KEYWORDS_CONFIG } from '../../src/config/keywords-config.js';
import { freePorts } from '../helpers/ports.js';

const stops: Array<() => unknown> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

describe('smoke', () => {
  it('registers, looks up, reads and writes', async () => {
    const logger = pino({ level: 'debug' });
    const [port, first, , , last] = await freePorts(5);
    const config = {
      ...DEFAULT_KEYWORDS_CONFIG,
      router: { ...DEFAULT_KEYWORDS_CONFIG.router, port: port!, firstPort: first! + 0 + 1, lastPort: last!, heartbeatMs: 100, allowSpawn: false },
    };
    const registry = await Registry.start({ config, logger });
    stops.push(() => registry.stop());
    const keywords = parseKeywordsFile({ keywords: [{ name: 'TEMP', type: 'double', initial: 1.5 }] }, 'x');
    const d = await Dispatcher.start({ service: 'svc', keywords, config, logger });
    stops.push(() => d.stop());
    const client = new KeywordClient({ config });
    stops.push(() => client.close());
    expect(await client.service('svc').keyword('TEMP').read()).toBe('1.5');
    expect(await client.service('svc').keyword('TEMP').write('2.5')).toBe('2.5');
    const seen: string[] = [];
    await client.service('svc').keyword('TEMP').monitor((u) => seen.push(u.ascii));
    await client.service('svc').keyword('TEMP').write(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['3']);
  });
});
