/**
 * `npm run bench [-- --quick] [-- --rounds N] [-- --only SUITE,...]`: runs every
 * suite, prints one table (each figure beside its baseline from the same run,
 * with the ratio and the number of rounds), and writes the rows to
 * bench/results/<time>.json so runs can be compared.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './types.js';

const SUITES = ['broker', 'rpc', 'balancer', 'keywords', 'gateway', 'inspector', 'compare'];

async function loadSuites(only: string[] | undefined): Promise<BenchSuite[]> {
  const found: BenchSuite[] = [];
  for (const name of SUITES) {
    if (only && !only.includes(name)) continue;
    try {
      const mod = (await import(`./${name}.js`)) as { suite?: BenchSuite };
      if (mod.suite) found.push(mod.suite);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    }
  }
  return found;
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

function table(rows: BenchRow[]): string {
  const header = ['suite', 'figure', 'value', 'unit', 'baseline', 'baseline value', 'ratio', 'rounds'];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    fmt(r.value),
    r.unit,
    r.baseline ?? '-',
    fmt(r.baselineValue),
    r.baselineValue ? `${(r.value / r.baselineValue).toFixed(2)}x` : '-',
    String(r.rounds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, only: { type: 'string' } },
  });
  const quick = values.quick === true;
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const only = values.only?.split(',');
  const suites = await loadSuites(only);
  const rows: BenchRow[] = [];
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  process.stdout.write(`steward benchmarks: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, ${rounds} round(s), medians\n\n`);
  for (const suite of suites) {
    process.stdout.write(`running ${suite.name}: ${suite.description}\n`);
    const got = await suite.run({ rounds, quick });
    rows.push(...got);
    for (const r of got) {
      process.stdout.write(
        `  ${r.name}: ${fmt(r.value)} ${r.unit}${r.baselineValue ? ` vs ${fmt(r.baselineValue)} (${(r.value / r.baselineValue).toFixed(2)}x)` : ''}${r.note ? ` [${r.note}]` : ''}\n`,
      );
    }
  }
  process.stdout.write(`\n${table(rows)}\n`);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ machine, rounds, quick, rows }, null, 2));
  process.stdout.write(`\nresults: ${file}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
