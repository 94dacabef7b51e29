import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  describeViolation,
  folderRules,
  importGraph,
  importsOf,
  sourceFiles,
  unitOf,
  violations,
  withoutComments,
  type FolderRule,
} from './import-graph.js';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const DOC = fileURLToPath(new URL('../../../docs/architecture.md', import.meta.url));
const rules = folderRules(readFileSync(DOC, 'utf8'));
const files = sourceFiles(SRC);
const edges = importGraph(SRC);

describe('the folder table of docs/architecture.md', () => {
  it('should hold every file in src/ under a row', () => {
    expect(files.filter((f) => unitOf(f, rules) === undefined)).toEqual([]);
  });

  it('should be kept by every import in src/', () => {
    expect(violations(edges, files, rules).map(describeViolation)).toEqual([]);
  });

  it('should keep the library free of the CLI: no row but the process shell imports cli/', () => {
    const shell = new Set(['cli/', 'main.ts']);
    for (const rule of rules) {
      if (rule.units.some((u) => shell.has(u))) continue;
      expect(rule.code.concat(rule.types).filter((u) => u === 'cli/' || u === 'any'), rule.units.join(', ')).toEqual([]);
    }
  });

  it('should name only units that exist', () => {
    const known = new Set(rules.flatMap((r) => r.units));
    for (const rule of rules) {
      for (const unit of [...rule.code, ...rule.types]) if (unit !== 'any') expect(known, `${rule.units.join(', ')} names ${unit}`).toContain(unit);
    }
    for (const unit of known) expect(files.some((f) => (unit.endsWith('/') ? f.startsWith(unit) : f === unit)), unit).toBe(true);
  });
});

describe('XState logic in src/machines/', () => {
  const xstateValues = (file: string) => edges.filter((e) => e.from === file && e.specifier === 'xstate').flatMap((e) => e.values);
  const machineFiles = files.filter((f) => f.startsWith('machines/'));

  it('should be in the files named *.machine.ts, and plain code in the others', () => {
    const wrong = machineFiles.filter((f) => {
      const defines = xstateValues(f).some((n) => n === 'setup' || n === 'createMachine');
      return defines !== f.endsWith('.machine.ts');
    });
    expect(wrong).toEqual([]);
  });

  it('should leave a plain class in a file named for it', () => {
    const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
    const wrong = machineFiles.flatMap((f) => {
      const classes = [...readFileSync(`${SRC}/${f}`, 'utf8').matchAll(/^export class (\w+)/gm)].map((m) => m[1] as string);
      const base = f.slice(f.lastIndexOf('/') + 1, -'.ts'.length);
      return classes.length === 1 && kebab(classes[0] as string) !== base ? [`${f} holds ${classes[0]}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it('should be spawned by the supervision trees: no other folder imports a *.machine.ts but for its types', () => {
    const spawners = new Set(['machines/', 'supervisor/trees/']);
    const wrong = edges.filter((e) => e.to?.endsWith('.machine.ts') && !e.typeOnly && !spawners.has(unitOf(e.from, rules) ?? ''));
    expect(wrong.map((e) => `src/${e.from}:${e.line} imports ${e.specifier}`)).toEqual([]);
  });
});

describe('the import scanner', () => {
  it('should read every form of import and export, across lines, and whether it is types only', () => {
    const text = [
      "import { a, type B } from './a.js';",
      "import type { C } from '../c.js';",
      'import {',
      '  type D,',
      '  type E,',
      "} from './d.js';",
      "export { f } from './f.js';",
      "export type { G } from './g.js';",
      "export * from './h.js';",
      "import x from 'pino';",
      "import './side.js';",
      "const m = await import('./lazy.js');",
      "import * as ns from 'node:fs';",
    ].join('\n');
    const found = importsOf('dir/file.ts', text).map((e) => [e.specifier, e.to, e.typeOnly, e.line]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['./a.js', 'dir/a.ts', false, 1],
        ['../c.js', 'c.ts', true, 2],
        ['./d.js', 'dir/d.ts', true, 3],
        ['./f.js', 'dir/f.ts', false, 7],
        ['./g.js', 'dir/g.ts', true, 8],
        ['./h.js', 'dir/h.ts', false, 9],
        ['pino', undefined, false, 10],
        ['./side.js', 'dir/side.ts', false, 11],
        ['./lazy.js', 'dir/lazy.ts', false, 12],
        ['node:fs', undefined, false, 13],
      ]),
    );
    expect(found).toHaveLength(10);
    expect(importsOf('f.ts', "import { a, type B as C, d as e } from './x.js';")[0]?.values).toEqual(['a', 'd']);
  });

  it('should not read imports inside comments, and keep strings that look like comments', () => {
    const text = "/* import { a } from './a.js'; */\n// import b from './b.js';\nconst url = 'http://x/*y';\nimport { c } from './c.js';";
    expect(withoutComments(text)).toContain("'http://x/*y'");
    expect(importsOf('f.ts', text).map((e) => [e.specifier, e.line])).toEqual([['./c.js', 4]]);
  });

  it('should report an import the table does not allow, a type where code is needed, a banned package and a file without a row', () => {
    const table: FolderRule[] = [
      { units: ['protocol/'], code: [], types: [], never: ['xstate'] },
      { units: ['machines/'], code: ['protocol/'], types: ['actors/'], never: [] },
      { units: ['actors/'], code: ['any'], types: [], never: [] },
    ];
    const graph = [
      ...importsOf('machines/m.ts', "import { p } from '../protocol/p.js';\nimport type { A } from '../actors/a.js';\nimport { b } from '../actors/b.js';"),
      ...importsOf('protocol/p.ts', "import { setup } from 'xstate';"),
      ...importsOf('actors/a.ts', "import { m } from '../machines/m.js';"),
    ];
    const found = violations(graph, ['machines/m.ts', 'protocol/p.ts', 'actors/a.ts', 'stray/x.ts'], table).map(describeViolation);
    expect(found).toEqual([
      'src/stray/x.ts: no row of the folder table holds this file',
      "src/machines/m.ts:3: import '../actors/b.js': machines/ imports only types from actors/",
      "src/protocol/p.ts:1: import 'xstate': protocol/ never imports xstate",
    ]);
  });

  it('should read the table of a document, with its prose left out', () => {
    const doc = [
      '# x',
      '## Folders',
      '',
      '| folder | holds | imports code from | imports only types from | never imports |',
      '| --- | --- | --- | --- | --- |',
      '| `src/machines/` | machines (`broker.machine.ts`) | `protocol/`, `log.ts` | `actors/` | sockets: `zeromq` |',
      '| `src/log.ts`, `src/version.ts` | leaves | - | - | - |',
      '',
      '## Next',
    ].join('\n');
    expect(folderRules(doc)).toEqual([
      { units: ['machines/'], code: ['protocol/', 'log.ts'], types: ['actors/'], never: ['zeromq'] },
      { units: ['log.ts', 'version.ts'], code: [], types: [], never: [] },
    ]);
    expect(unitOf('machines/broker/broker.machine.ts', folderRules(doc))).toBe('machines/');
  });
});
