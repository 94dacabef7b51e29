/**
 * A dispatcher with a little life of its own, and a client watching it.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/examples/keywords/thermostat.js
 *
 * Runs without a registry (binds 127.0.0.1 ports of its own choosing): the
 * dispatcher moves TEMP toward SETPOINT every 200 ms; the client monitors
 * TEMP, changes the setpoint, and stops after a few seconds.
 */
import { readFileSync } from 'node:fs';
import { Dispatcher } from '../../src/api/dispatcher.js';
import { KeywordClient } from '../../src/api/keywords/index.js';
import { parseKeywordsFile } from '../../src/config/keywords-file.js';

const file = new URL('../../../examples/keywords/keywords.json', import.meta.url);
const keywords = parseKeywordsFile(JSON.parse(readFileSync(file, 'utf8')), file.pathname);

const dispatcher = await Dispatcher.start({ service: 'thermo', keywords, direct: { dispatch: 'tcp://127.0.0.1:*', broadcast: 'tcp://127.0.0.1:*' } });
const endpoints = dispatcher.endpoints()!;
const tick = setInterval(() => {
  const temp = dispatcher.get('TEMP')!.binary as number;
  const target = dispatcher.get('SETPOINT')!.binary as number;
  const step = Math.sign(target - temp) * Math.min(0.5, Math.abs(target - temp));
  if (step !== 0) dispatcher.set('TEMP', Math.round((temp + step) * 10) / 10);
}, 200);

const client = new KeywordClient({ direct: endpoints });
const thermo = client.service('thermo');
const watch = await thermo.keyword('TEMP').monitor((u) => process.stdout.write(`TEMP = ${u.ascii} (change ${u.seq})\n`));
process.stdout.write(`SETPOINT was ${await thermo.keyword('SETPOINT').read()}; now ${await thermo.keyword('SETPOINT').write(18)}\n`);
try {
  await thermo.keyword('MODE').write('Sideways');
} catch (error) {
  process.stdout.write(`refused as expected: ${(error as Error).message}\n`);
}
const cool = await thermo.keyword('TEMP').wait({ timeout: 5000, until: (u) => (u.binary as number) <= 19 });
process.stdout.write(`reached ${cool.ascii}\n`);

watch.unsubscribe();
clearInterval(tick);
client.close();
await dispatcher.stop();
