/**
 * The one INI parser of the seeds' config files: Cauldron's keyword services
 * (the registry) and BlastBeat's gateway files. Written here rather than
 * taken from npm because those packages keep only the last of a repeated key,
 * and a repeated key is how BlastBeat lists a virtual host's nodes.
 *
 *   [section]            a section: everything between the first [ and the last ],
 *                        so BlastBeat's `[blastbeat:[::1]:8080]` is one name
 *   key = value          or `key: value`; split at the first '=' or ':'
 *   # comment, ; comment whole-line comments only (a value may contain '#')
 *
 * Keys are matched ignoring case (as Python's configparser does); section
 * names keep their case (BlastBeat's `[blastbeat:HOST]`). Values are
 * trimmed and kept as text; typing them is the caller's job. No
 * interpolation, no continuation lines: what the file says is what the
 * program reads.
 *
 * Where the two dialects differ, the caller says which it wants
 * (`IniOptions`): BlastBeat values may be quoted, and a repeated header is
 * merged by the registry but kept apart for the gateway, which refuses a
 * second `[blastbeat]` by its line.
 */

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line number, for error messages. */
  readonly line: number;
}

export interface IniSection {
  /** `''` for the entries before any header. */
  readonly name: string;
  /** 1-based line of the (first) header; 0 for the entries before any header. */
  readonly line: number;
  readonly entries: IniEntry[];
}

export interface IniLimits {
  readonly maxBytes: number;
  readonly maxLineLength: number;
  readonly maxEntries: number;
}

export const DEFAULT_INI_LIMITS: IniLimits = { maxBytes: 1024 * 1024, maxLineLength: 8192, maxEntries: 10_000 };

export interface IniOptions {
  /** Strip one pair of matching '…' or "…" around a value (BlastBeat's files quote some). */
  readonly unquote: boolean;
  /** `merge`: a repeated header adds to the first section; `separate`: each header starts a section of its own. */
  readonly repeatedSections: 'merge' | 'separate';
  readonly limits: IniLimits;
}

/** What went wrong, so a caller can word it in its own terms. */
export type IniErrorKind = 'too_large' | 'line_too_long' | 'too_many_entries' | 'unclosed_header' | 'empty_section' | 'not_a_pair' | 'missing_key';

export class IniSyntaxError extends Error {
  override readonly name = 'IniSyntaxError';
  constructor(
    readonly kind: IniErrorKind,
    readonly line: number,
    readonly problem: string,
    readonly fix: string,
    /** The offending line, trimmed (`''` for errors about the whole file). */
    readonly text = '',
  ) {
    super(`line ${line}: ${problem}`);
  }
}

/** The sections of a text, in the order their headers first appear. Throws IniSyntaxError. */
export function parseIniSections(text: string, options: IniOptions): IniSection[] {
  const { limits } = options;
  if (Buffer.byteLength(text) > limits.maxBytes) {
    throw new IniSyntaxError('too_large', 1, `file is larger than ${limits.maxBytes} bytes`, 'use a smaller file');
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
      throw new IniSyntaxError('line_too_long', lineNo, `line longer than ${limits.maxLineLength} characters`, 'shorten the line');
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new IniSyntaxError('unclosed_header', lineNo, `malformed section header "${line}"`, 'close it with ], e.g. [zmq]', line);
      const name = line.slice(1, -1).trim();
      if (name === '') throw new IniSyntaxError('empty_section', lineNo, 'empty section name', 'write a name between the brackets, e.g. [zmq]', line);
      current = options.repeatedSections === 'merge' ? byName.get(name) : undefined;
      if (!current) {
        current = { name, line: lineNo, entries: [] };
        byName.set(name, current);
        sections.push(current);
      }
      continue;
    }
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (at < 0) throw new IniSyntaxError('not_a_pair', lineNo, `"${line}" is neither a section, a key = value line nor a comment`, 'write key = value, or start a comment with #', line);
    const key = line.slice(0, at).trim().toLowerCase();
    if (key === '') throw new IniSyntaxError('missing_key', lineNo, 'missing key before the delimiter', 'write key = value', line);
    if (++count > limits.maxEntries) throw new IniSyntaxError('too_many_entries', lineNo, `more than ${limits.maxEntries} entries`, 'use a smaller file', line);
    if (!current) {
      // Keys before any header belong to the unnamed section, as in many INI dialects.
      current = { name: '', line: 0, entries: [] };
      byName.set('', current);
      sections.push(current);
    }
    const value = line.slice(at + 1).trim();
    current.entries.push({ key, value: options.unquote ? unquote(value) : value, line: lineNo });
  }
  return sections;
}

function unquote(value: string): string {
  if (value.length >= 2) {
    const q = value[0];
    if ((q === '"' || q === "'") && value[value.length - 1] === q) return value.slice(1, -1);
  }
  return value;
}

/** Every value of a key in a section, in file order. */
export function iniValues(section: IniSection, key: string): IniEntry[] {
  const k = key.toLowerCase();
  return section.entries.filter((e) => e.key === k);
}

/** The last value of a key (a later line overrides an earlier one), or undefined. */
export function iniValue(section: IniSection, key: string): IniEntry | undefined {
  const all = iniValues(section, key);
  return all[all.length - 1];
}

/** A parsed INI file: sections in the order they first appear, looked up by name. */
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
    const s = this.byName.get(section);
    return s && iniValue(s, key);
  }

  /** Every value of a repeated key, in file order. */
  getAll(section: string, key: string): IniEntry[] {
    const s = this.byName.get(section);
    return s ? iniValues(s, key) : [];
  }
}

/** The registry's dialect: repeated headers merged, values as written. */
export function parseIni(text: string, limits: IniLimits = DEFAULT_INI_LIMITS): IniDocument {
  return new IniDocument(parseIniSections(text, { unquote: false, repeatedSections: 'merge', limits }));
}
