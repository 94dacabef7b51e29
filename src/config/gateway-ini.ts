/**
 * BlastBeat's dialect of the shared INI parser (./ini.ts), for the gateway:
 * values may be quoted, and each section header starts a section of its own
 * (the gateway refuses a second `[blastbeat]` by its line). Errors are
 * ConfigErrors naming the file and line, worded as the gateway has always
 * worded them.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { DEFAULT_INI_LIMITS, IniSyntaxError, parseIniSections, type IniErrorKind, type IniSection } from './ini.js';

export { iniValue, iniValues, type IniEntry, type IniSection } from './ini.js';

export interface IniDocument {
  readonly file: string;
  readonly sections: IniSection[];
}

export const MAX_INI_BYTES = DEFAULT_INI_LIMITS.maxBytes;

const NOT_A_PAIR = (line: string): [string, string] => [`"${line.slice(0, 60)}" is neither a [section] nor key = value`, 'write key = value, or comment the line out with ;'];

/** The gateway's words for the syntax errors it had before the parsers were merged; the others keep the parser's. */
const WORDING: Partial<Record<IniErrorKind, (line: string) => [problem: string, fix: string]>> = {
  unclosed_header: (line) => [`section header "${line}" has no closing ]`, 'write it as [name]'],
  empty_section: () => ['empty section name', 'write it as [name]'],
  not_a_pair: NOT_A_PAIR,
  missing_key: NOT_A_PAIR,
};

export function parseIni(text: string, file: string): IniDocument {
  try {
    return { file, sections: parseIniSections(text, { unquote: true, repeatedSections: 'separate', limits: DEFAULT_INI_LIMITS }) };
  } catch (error) {
    if (!(error instanceof IniSyntaxError)) throw error;
    const [problem, fix] = WORDING[error.kind]?.(error.text) ?? [error.problem, error.fix];
    throw new ConfigError(file, `line ${error.line}`, problem, fix);
  }
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
