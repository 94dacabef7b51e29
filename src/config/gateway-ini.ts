/**
 * A small INI reader, generic on purpose (the gateway's BlastBeat files are
 * its first user; the registry's Cauldron files may share it): sections in
 * order, keys in order, a repeated key kept as a list (`bind`, `node`).
 * `key = value` or `key: value`; full-line comments with `;` or `#`; values
 * may be quoted. Errors name the file and line. No interpolation, no
 * continuation lines: what the file says is what the program reads.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../cli/errors.js';

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface IniSection {
  /** `''` for keys before the first section header. */
  readonly name: string;
  readonly line: number;
  readonly entries: IniEntry[];
}

export interface IniDocument {
  readonly file: string;
  readonly sections: IniSection[];
}

export const MAX_INI_BYTES = 1024 * 1024;

function unquote(value: string): string {
  if (value.length >= 2) {
    const q = value[0];
    if ((q === '"' || q === "'") && value[value.length - 1] === q) return value.slice(1, -1);
  }
  return value;
}

export function parseIni(text: string, file: string): IniDocument {
  const sections: IniSection[] = [];
  let current: IniSection = { name: '', line: 0, entries: [] };
  sections.push(current);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new ConfigError(file, `line ${lineNo}`, `section header "${line}" has no closing ]`, 'write it as [name]');
      const name = line.slice(1, -1).trim();
      if (name === '') throw new ConfigError(file, `line ${lineNo}`, 'empty section name', 'write it as [name]');
      current = { name, line: lineNo, entries: [] };
      sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const at = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
    if (at <= 0) {
      throw new ConfigError(file, `line ${lineNo}`, `"${line.slice(0, 60)}" is neither a [section] nor key = value`, 'write key = value, or comment the line out with ;');
    }
    const key = line.slice(0, at).trim().toLowerCase();
    const value = unquote(line.slice(at + 1).trim());
    current.entries.push({ key, value, line: lineNo });
  }
  return { file, sections: sections.filter((s) => s.name !== '' || s.entries.length > 0) };
}

/** Reads and parses a file, refusing what is not a reasonably sized text file. */
export function readIni(file: string): IniDocument {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ConfigError(file, 'file', code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`, 'give the path of an existing .ini file');
  }
  if (size > MAX_INI_BYTES) throw new ConfigError(file, 'file', `is ${size} bytes, more than ${MAX_INI_BYTES}`, 'give the path of the .ini file itself');
  return parseIni(readFileSync(file, 'utf8'), file);
}

/** Every value of a key in a section, in file order. */
export function iniValues(section: IniSection, key: string): IniEntry[] {
  return section.entries.filter((e) => e.key === key);
}

/** The last value of a key (a later line overrides an earlier one), or undefined. */
export function iniValue(section: IniSection, key: string): IniEntry | undefined {
  const all = iniValues(section, key);
  return all[all.length - 1];
}
