/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and ranks where the
 * time went: self time per function, and per module (a package under
 * node_modules, a steward file, node's internals, or V8's own buckets such as
 * `(garbage collector)`).
 */

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTime {
  /** `name (where:line)` for functions, the module name for modules. */
  readonly name: string;
  readonly module: string;
  readonly selfMs: number;
  /** Share of the busy time (everything but `(idle)`), in percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly functions: SelfTime[];
  readonly modules: SelfTime[];
}

export function isCpuProfile(value: unknown): value is CpuProfile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v['nodes']) && typeof v['startTime'] === 'number' && typeof v['endTime'] === 'number';
}

/** Which module a frame belongs to, from its url. */
export function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  const dist = url.search(/\/dist(-bench)?\//);
  if (dist >= 0) return `steward ${url.slice(url.indexOf('/', dist + 1) + 1)}`;
  return url.replace(/^file:\/\//, '');
}

function where(frame: CallFrame): string {
  if (frame.url === '') return '';
  const file = frame.url.slice(frame.url.lastIndexOf('/') + 1);
  return ` (${file}:${frame.lineNumber + 1})`;
}

/** Self time per node id in microseconds: each sample lasts until the next one. */
function selfMicros(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    const mean = (profile.endTime - profile.startTime) / samples.length;
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i] as number;
      const next = deltas[i + 1];
      const us = next !== undefined && next >= 0 ? next : mean;
      self.set(id, (self.get(id) ?? 0) + us);
    }
    return self;
  }
  // No samples: spread the run over hit counts.
  const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
  const per = (profile.endTime - profile.startTime) / hits;
  for (const node of profile.nodes) if (node.hitCount) self.set(node.id, node.hitCount * per);
  return self;
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const self = selfMicros(profile);
  const byFunction = new Map<string, { module: string; us: number }>();
  const byModule = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const module = moduleOf(frame);
    const name = `${frame.functionName || '(anonymous)'}${where(frame)}`;
    const entry = byFunction.get(name);
    if (entry) entry.us += us;
    else byFunction.set(name, { module, us });
    byModule.set(module, (byModule.get(module) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs || 1;
  const rank = (entries: Array<{ name: string; module: string; us: number }>): SelfTime[] =>
    entries
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, module: e.module, selfMs: e.us / 1000, percent: (e.us / busyUs) * 100 }));
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    functions: rank([...byFunction].map(([name, e]) => ({ name, module: e.module, us: e.us }))),
    modules: rank([...byModule].map(([name, us]) => ({ name, module: name, us }))),
  };
}

/** The summary as a Markdown table pair, ready for docs/benchmarks.md. */
export function formatSummary(summary: ProfileSummary, title: string): string {
  const rows = (entries: readonly SelfTime[], label: string) => [
    `| ${label} | self ms | % of busy |`,
    '| --- | ---: | ---: |',
    ...entries.map((e) => `| \`${e.name.replace(/\|/g, '\\|')}\` | ${e.selfMs.toFixed(1)} | ${e.percent.toFixed(1)} |`),
  ];
  return [
    `${title}: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle of ${summary.totalMs.toFixed(0)} ms sampled.`,
    '',
    ...rows(summary.modules, 'module'),
    '',
    ...rows(summary.functions, 'function'),
  ].join('\n');
}
