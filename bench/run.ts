/**
 * `npm run bench [-- --quick] [-- --rounds N] [-- --only SUITE,...] [-- --profile] [-- --docs]`
 * (`--suite` is `--only`): runs the suites, prints one table (each figure
 * beside its baseline from the same run, the ratio, p50/p99 where measured,
 * medians of the rounds), and writes bench/results/<time>.json plus one SVG
 * per chart. `--profile` runs brokers under `node --cpu-prof` and summarizes
 * the profiles; `--docs` copies the table, charts and profile summary into
 * docs/bench/ and docs/benchmarks.md.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { formatSummary, isCpuProfile, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { chartTable, markdownTable, progressLine, replaceSection, targetSummary, textTable, type Machine } from './lib/report.js';
import { renderLineChart } from './lib/svg.js';
import { loadAverage } from './lib/system.js';
import type { BenchRow, BenchSuite, LineChart } from './types.js';

const SUITES = ['broker', 'compare', 'dealer', 'gateway', 'scale', 'rpc', 'streams', 'balancer', 'keywords', 'inspector'];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function loadSuites(only: string[] | undefined): Promise<BenchSuite[]> {
  const unknown = only?.filter((n) => !SUITES.includes(n)) ?? [];
  if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}: choose from ${SUITES.join(', ')}`);
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

/** Adds a suite's chart, or its series to the chart of the same name another suite made. */
function addChart(charts: LineChart[], chart: LineChart): void {
  const at = charts.findIndex((c) => c.name === chart.name);
  if (at < 0) charts.push(chart);
  else charts[at] = { ...charts[at]!, series: [...charts[at]!.series, ...chart.series] };
}

function summarizeProfiles(dir: string): Array<{ file: string; summary: ProfileSummary }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .flatMap((f) => {
      const parsed: unknown = JSON.parse(readFileSync(`${dir}${f}`, 'utf8'));
      return isCpuProfile(parsed) ? [{ file: `${dir}${f}`, summary: summarizeProfile(parsed, 15) }] : [];
    });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      suite: { type: 'string' },
      profile: { type: 'boolean' },
      docs: { type: 'boolean' },
    },
  });
  const quick = values.quick === true;
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const only = (values.only ?? values.suite)?.split(',').map((s) => s.trim());
  const suites = await loadSuites(only);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = `${ROOT}bench/results/`;
  mkdirSync(resultsDir, { recursive: true });
  const profileDir = values.profile ? `${resultsDir}${stamp}-profiles/` : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const charts: LineChart[] = [];
  const rows: BenchRow[] = [];
  const c = cpus();
  const machine: Machine = { cores: c.length, cpu: c[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const started = new Date();
  const loadBefore = loadAverage();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  process.stdout.write(
    `steward benchmarks: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}; ${rounds} round(s), medians; ` +
      `${quick ? 'quick' : 'full'} mode; ${started.toISOString()}; load average ${loadBefore.join(' ')}\n\n`,
  );
  // A suite that fails is reported and the run goes on: the others' half hour of figures is not thrown away.
  const failed: Array<{ suite: string; error: string }> = [];
  const ran: BenchSuite[] = [];
  for (const suite of suites) {
    process.stdout.write(`running ${suite.name}: ${suite.description}\n`);
    const t0 = Date.now();
    try {
      const got = await suite.run({ rounds, quick, ...(profileDir ? { profileDir } : {}), addChart: (chart) => addChart(charts, chart) });
      rows.push(...got);
      ran.push(suite);
      for (const r of got) process.stdout.write(`${progressLine(r)}\n`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failed.push({ suite: suite.name, error: message });
      process.stdout.write(`  FAILED: ${message}\n`);
    }
    process.stdout.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s, load average ${loadAverage().join(' ')})\n`);
  }
  const loadAfter = loadAverage();
  const seconds = (Date.now() - started.getTime()) / 1000;
  process.stdout.write(`\n${textTable(rows)}\n\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; ${seconds.toFixed(0)} s\n`);
  const targets = targetSummary(rows);
  if (targets) process.stdout.write(`\n${targets}\n`);
  for (const chart of charts) {
    const table = chartTable(chart, false);
    if (table) process.stdout.write(`\n${table}\n`);
  }

  const svgs = charts.map((chart) => {
    const file = `${resultsDir}${stamp}-${chart.name}.svg`;
    writeFileSync(file, renderLineChart(chart));
    return { chart, file };
  });
  for (const { file } of svgs) process.stdout.write(`plot: ${file}\n`);

  const profiles = profileDir ? summarizeProfiles(profileDir) : [];
  for (const { file, summary } of profiles) {
    process.stdout.write(`\nprofile ${file}: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle\n`);
    for (const e of summary.functions.slice(0, 12)) process.stdout.write(`  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}  [${e.module}]\n`);
  }

  const file = `${resultsDir}${stamp}.json`;
  const run = { command, date: started.toISOString(), seconds, machine, loadAverage: { before: loadBefore, after: loadAfter }, rounds, quick };
  writeFileSync(file, JSON.stringify({ ...run, rows, charts, profiles, failed }, null, 2));
  process.stdout.write(`\nresults: ${file}\n`);

  if (values.docs) {
    const docsDir = `${ROOT}docs/bench/`;
    mkdirSync(docsDir, { recursive: true });
    // Each chart is one suite's: a run with --only copies the charts of the suites it ran.
    for (const { chart, file: svg } of svgs) copyFileSync(svg, `${docsDir}${chart.name}.svg`);
    const header =
      `\`${command}\` on ${run.date.slice(0, 16).replace('T', ' ')} UTC: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `${rounds} round(s) per figure, medians; load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after.`;
    const table = `${header}\n\n${markdownTable(rows)}`;
    const page = `${ROOT}docs/benchmarks.md`;
    let doc = existsSync(page) ? readFileSync(page, 'utf8') : '';
    // The page's table is the whole suite's: a run with --only, or one where a suite failed, leaves it alone
    // (but may add a profile).
    const whole = !only && failed.length === 0;
    if (rows.length && whole) doc = replaceSection(doc, 'table', table);
    if (whole) {
      for (const chart of charts.filter((c) => c.tableAt)) {
        doc = replaceSection(doc, chart.name, `${header}\n\n![${chart.title}](bench/${chart.name}.svg)\n\n${chartTable(chart, true)}`);
      }
    }
    // A suite's own section (`<!-- bench:suite-NAME -->`), where the page has one, takes that suite's rows from
    // any run that measured it, --only included.
    for (const suite of ran) {
      const own = rows.filter((r) => r.suite === suite.name);
      if (own.length) doc = replaceSection(doc, `suite-${suite.name}`, `${header}\n\n${markdownTable(own)}`);
    }
    if (profiles.length) doc = replaceSection(doc, 'profile', profiles.map((p) => formatSummary(p.summary, `Broker under \`node --cpu-prof\` during \`${command}\` (${run.date.slice(0, 16).replace('T', ' ')} UTC, load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after; ${p.file.slice(p.file.lastIndexOf('/') + 1)})`)).join('\n\n'));
    if (doc) writeFileSync(page, doc);
    process.stdout.write(`docs: ${page}${svgs.length ? `, ${svgs.map((s) => `docs/bench/${s.chart.name}.svg`).join(', ')}` : ''}\n`);
  }
  if (failed.length) {
    process.stderr.write(`bench: ${failed.length} suite(s) failed: ${failed.map((f) => f.suite).join(', ')} (their errors are above and in ${file})\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
