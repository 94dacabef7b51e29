/**
 * The import graph of src/ and the folder rules of docs/architecture.md,
 * read as text: TypeScript 7's compiler has no JavaScript API to parse with,
 * and every import in this code base is a static `import ... from`,
 * `export ... from`, a bare `import '...'` or a dynamic `import('...')`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

export interface ImportEdge {
  /** The importing file, relative to the source root, with `/`. */
  readonly from: string;
  /** What the import names, as written. */
  readonly specifier: string;
  /** The imported file relative to the source root (`.js` read as `.ts`), or undefined for a package. */
  readonly to: string | undefined;
  /** `import type`, `export type`, or every name marked `type`: erased when compiled. */
  readonly typeOnly: boolean;
  /** The names imported as values from braces (`{ a, type B }` gives `a`). */
  readonly values: readonly string[];
  readonly line: number;
}

/**
 * The text with comments blanked out (newlines kept, so line numbers hold),
 * strings and template literals left as they are.
 */
export function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j += 1;
        j += 1;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

// `import x, { a, type B } from '...'`, `import type { A } from '...'`, `export * from '...'`,
// `export { a } from '...'`, `export type { A } from '...'`: the clause may span lines.
const FROM = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([\w$*{},\s]*?)\s*from\s*(['"])([^'"]+)\4/g;
const BARE = /(?:^|[;\n])\s*import\s*(['"])([^'"]+)\1/g;
const DYNAMIC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g;

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

function namesIn(clause: string): string[] {
  const open = clause.indexOf('{');
  if (open < 0) return [];
  return clause
    .slice(open + 1, clause.lastIndexOf('}'))
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
}

/** Whether every name of an `import { ... }` or `export { ... }` clause is marked `type`. */
function allNamesAreTypes(clause: string): boolean {
  const open = clause.indexOf('{');
  if (open < 0) return false;
  // A default or namespace import beside the braces is a value.
  if (clause.slice(0, open).replace(/[\s,]/g, '') !== '') return false;
  const names = namesIn(clause);
  return names.length > 0 && names.every((n) => /^type\s/.test(n));
}

/** Every import in one file's text; `file` is its path relative to the source root. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const code = withoutComments(text);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean, values: string[], index: number) => {
    const to = specifier.startsWith('.') ? normalize(join(dirname(file), specifier)).split(sep).join('/').replace(/\.js$/, '.ts') : undefined;
    edges.push({ from: file, specifier, to, typeOnly, values, line: lineOf(code, index) });
  };
  for (const m of code.matchAll(FROM)) {
    const clause = m[3] as string;
    const typeOnly = m[2] !== undefined || allNamesAreTypes(clause);
    const values = typeOnly ? [] : namesIn(clause).filter((n) => !/^type\s/.test(n)).map((n) => n.split(/\s+as\s+/)[0] as string);
    add(m[5] as string, typeOnly, values, m.index + m[0].search(/import|export/));
  }
  for (const m of code.matchAll(BARE)) add(m[2] as string, false, [], m.index + m[0].search(/import/));
  for (const m of code.matchAll(DYNAMIC)) add(m[2] as string, false, [], m.index);
  return edges;
}

/** Every `.ts` file below `root`, relative to it, with `/`. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

export function importGraph(root: string): ImportEdge[] {
  return sourceFiles(root).flatMap((file) => importsOf(file, readFileSync(join(root, file), 'utf8')));
}

/** One row of the folder table: a folder (`machines/`) or a file at the top (`main.ts`), relative to src/. */
export interface FolderRule {
  readonly units: readonly string[];
  /** Units whose code (values) this one may import; `any` for every unit. */
  readonly code: readonly string[];
  /** Units this one may import types from, and nothing else. */
  readonly types: readonly string[];
  /** Packages never imported (a name matches itself and its subpaths). */
  readonly never: readonly string[];
}

function ticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/^src\//, ''));
}

/**
 * The table under `## Folders` in docs/architecture.md. Its columns are
 * `folder | holds | imports code from | imports only types from | never imports`;
 * what the check reads is in backticks, anything else in a cell is prose.
 */
export function folderRules(markdown: string): FolderRule[] {
  const start = markdown.indexOf('\n## Folders');
  if (start < 0) throw new Error('docs/architecture.md has no "## Folders" section');
  const lines = markdown.slice(start + 1).split('\n').slice(1);
  const first = lines.findIndex((line) => line.startsWith('|') || line.startsWith('#'));
  const rows: string[] = [];
  for (const line of first >= 0 && lines[first]?.startsWith('|') ? lines.slice(first) : []) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  const table = rows.slice(2);
  if (table.length === 0) throw new Error('the "## Folders" section of docs/architecture.md has no table');
  return table.map((row) => {
    const cells = row.split(/(?<!\\)\|/).slice(1, -1);
    if (cells.length !== 5) throw new Error(`a folder table row needs 5 cells, not ${cells.length}: ${row}`);
    const [units, , code, types, never] = cells as [string, string, string, string, string];
    return { units: ticked(units), code: ticked(code), types: ticked(types), never: ticked(never) };
  });
}

/** The row a file falls under: the longest folder that holds it, or its own name for a file at the top. */
export function unitOf(file: string, rules: readonly FolderRule[]): string | undefined {
  let best: string | undefined;
  for (const rule of rules) {
    for (const unit of rule.units) {
      const holds = unit.endsWith('/') ? file.startsWith(unit) : file === unit;
      if (holds && (best === undefined || unit.length > best.length)) best = unit;
    }
  }
  return best;
}

export interface Violation {
  readonly edge: ImportEdge;
  readonly why: string;
}

/** Each import that the table does not allow, and each file no row holds. */
export function violations(edges: readonly ImportEdge[], files: readonly string[], rules: readonly FolderRule[]): Violation[] {
  const ruleOf = new Map<string, FolderRule>();
  for (const rule of rules) for (const unit of rule.units) ruleOf.set(unit, rule);
  const out: Violation[] = [];
  for (const file of files) {
    if (unitOf(file, rules) === undefined) {
      out.push({ edge: { from: file, specifier: '', to: undefined, typeOnly: false, values: [], line: 0 }, why: 'no row of the folder table holds this file' });
    }
  }
  for (const edge of edges) {
    const from = unitOf(edge.from, rules);
    if (from === undefined) continue;
    const rule = ruleOf.get(from) as FolderRule;
    if (edge.to === undefined) {
      const banned = rule.never.find((p) => edge.specifier === p || edge.specifier.startsWith(`${p}/`));
      if (banned !== undefined) out.push({ edge, why: `${from} never imports ${banned}` });
      continue;
    }
    const to = unitOf(edge.to, rules);
    if (to === undefined || to === from) continue;
    if (rule.code.includes('any') || rule.code.includes(to)) continue;
    if (edge.typeOnly && rule.types.includes(to)) continue;
    const allowed = rule.types.includes(to) ? `only types from ${to}` : `nothing from ${to}`;
    out.push({ edge, why: `${from} imports ${allowed}` });
  }
  return out;
}

export function describeViolation(v: Violation): string {
  const where = v.edge.line > 0 ? `src/${v.edge.from}:${v.edge.line}` : `src/${v.edge.from}`;
  return v.edge.specifier === '' ? `${where}: ${v.why}` : `${where}: ${v.edge.typeOnly ? 'import type' : 'import'} '${v.edge.specifier}': ${v.why}`;
}
