/**
 * A small INI parser for the seeds' config files (Cauldron's keyword
 * services, BlastBeat's gateway). Written here rather than taken from npm
 * because those packages keep only the last of a repeated key, and a
 * repeated key is how BlastBeat lists a virtual host's nodes.
 *
 *   [section]            a section; a repeated header adds to the same section
 *   key = value          or `key: value`; split at the first '=' or ':'
 *   # comment, ; comment whole-line comments only (a value may contain '#')
 *
 * Keys are matched ignoring case (as Python's configparser does); section
 * names keep their case (BlastBeat's `[blastbeat:HOST]`). Values are
 * trimmed and kept as text; typing them is the caller's job.
 */

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line number, for error messages. */
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  /** 1-based line of the first header; 0 for the entries before any header. */
  readonly line: number;
  readonly entries: IniEntry[];
}

export interface IniLimits {
  readonly maxBytes: number;
  readonly maxLineLength: number;
  readonly maxEntries: number;
}

export const DEFAULT_INI_LIMITS: IniLimits = { maxBytes: 1024 * 1024, maxLineLength: 8192, maxEntries: 10_000 };

export class IniSyntaxError extends Error {
  override readonly name = 'IniSyntaxError';
  constructor(
    readonly line: number,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

/** A parsed file: sections in the order they first appear. */
export class IniDocument {
  private readonly byName = new Map<string, IniSection>();

  constructor(readonly sections: readonly IniSection[]) {
    for (const s of sections) this.byName.set(s.name, s);
  }

  section(name: string): IniSection | undefined {
    return this.byName.get(name);
  }

  /** Section names, e.g. to find every `[blastbeat:*]`. */
  names(): string[] {
    return this.sections.map((s) => s.name);
  }

  /** The last value of a key (a later line overrides an earlier one), or undefined. */
  get(section: string, key: string): IniEntry | undefined {
    const entries = this.byName.get(section)?.entries;
    if (!entries) return undefined;
    const k = key.toLowerCase();
    for (let i = entries.length - 1; i >= 0; i--) if ((entries[i] as IniEntry).key === k) return entries[i];
    return undefined;
  }

  /** Every value of a repeated key, in file order. */
  getAll(section: string, key: string): IniEntry[] {
    const k = key.toLowerCase();
    return (this.byName.get(section)?.entries ?? []).filter((e) => e.key === k);
  }
}

const SECTION = /^\[([^\]]*)\]$/;

export function parseIni(text: string, limits: IniLimits = DEFAULT_INI_LIMITS): IniDocument {
  if (Buffer.byteLength(text) > limits.maxBytes) {
    throw new IniSyntaxError(1, `file is larger than ${limits.maxBytes} bytes`, 'use a smaller file');
  }
  const sections: IniSection[] = [];
  const byName = new Map<string, IniSection>();
  let current: IniSection | undefined;
  let count = 0;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] as string;
    if (raw.length > limits.maxLineLength) {
      throw new IniSyntaxError(lineNo, `line longer than ${limits.maxLineLength} characters`, 'shorten the line');
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = SECTION.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      if (name === '') throw new IniSyntaxError(lineNo, 'empty section name', 'write a name between the brackets, e.g. [zmq]');
      current = byName.get(name);
      if (!current) {
        current = { name, line: lineNo, entries: [] };
        byName.set(name, current);
        sections.push(current);
      }
      continue;
    }
    if (line.startsWith('[')) throw new IniSyntaxError(lineNo, `malformed section header "${line}"`, 'close it with ], e.g. [zmq]');
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (at < 0) throw new IniSyntaxError(lineNo, `"${line}" is neither a section, a key = value line nor a comment`, 'write key = value, or start a comment with #');
    const key = line.slice(0, at).trim().toLowerCase();
    if (key === '') throw new IniSyntaxError(lineNo, 'missing key before the delimiter', 'write key = value');
    if (++count > limits.maxEntries) throw new IniSyntaxError(lineNo, `more than ${limits.maxEntries} entries`, 'use a smaller file');
    if (!current) {
      // Keys before any header belong to the unnamed section, as in many INI dialects.
      current = { name: '', line: 0, entries: [] };
      byName.set('', current);
      sections.push(current);
    }
    current.entries.push({ key, value: line.slice(at + 1).trim(), line: lineNo });
  }
  return new IniDocument(sections);
}
