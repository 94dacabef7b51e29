/**
 * `node dist-bench/bench/profile-summary.js FILE.cpuprofile [--top N] [--markdown]`:
 * the functions and modules with the most self time in a profile written by
 * `node --cpu-prof` (for example by `npm run bench -- --only compare --profile`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatSummary, isCpuProfile, summarizeProfile } from './lib/cpuprofile.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, markdown: { type: 'boolean' } } });
if (positionals.length === 0) {
  process.stderr.write('usage: node dist-bench/bench/profile-summary.js FILE.cpuprofile [--top N] [--markdown]\n');
  process.exit(2);
}
for (const file of positionals) {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isCpuProfile(parsed)) {
    process.stderr.write(`${file}: not a .cpuprofile\n`);
    process.exit(1);
  }
  const summary = summarizeProfile(parsed, Number(values.top ?? 15));
  if (values.markdown) {
    process.stdout.write(`${formatSummary(summary, file)}\n\n`);
    continue;
  }
  process.stdout.write(`${file}: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle\n`);
  for (const [label, list] of [['modules', summary.modules], ['functions', summary.functions]] as const) {
    process.stdout.write(`  ${label}:\n`);
    for (const e of list) process.stdout.write(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}\n`);
  }
}
