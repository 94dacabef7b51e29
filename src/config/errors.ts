/**
 * Bad configuration: exit code 2. Names the file, the field and the fix, so the
 * operator never has to read source code to find what is wrong.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${field}: ${problem} (fix: ${fix})`);
  }
}
