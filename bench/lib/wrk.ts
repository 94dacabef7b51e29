import { execFile } from 'node:child_process';

/** What one wrk run reports. */
export interface WrkResult {
  readonly requests: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses outside 2xx/3xx, and socket errors of every kind. */
  readonly non2xx: number;
  readonly socketErrors: number;
}

export const WRK = '/usr/bin/wrk';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1.08ms`, `950.00us`, `1.20s` -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return Number.NaN;
  return m[2] === 'us' ? Number(m[1]) / 1000 : Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** Parses wrk's text output (run with `--latency`). */
export function parseWrk(output: string): WrkResult {
  const num = (re: RegExp) => {
    const m = re.exec(output);
    return m ? Number(m[1]) : Number.NaN;
  };
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm').exec(output);
    return m ? parseDuration(m[1] as string) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: num(/^\s*(\d+) requests in/m),
    rate: num(/^Requests\/sec:\s+([\d.]+)/m),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    non2xx: /Non-2xx or 3xx responses: (\d+)/.test(output) ? num(/Non-2xx or 3xx responses: (\d+)/) : 0,
    socketErrors: errors ? errors.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  };
}

export interface WrkOptions {
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** Extra request headers (`Host` replaces the one wrk takes from the URL). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A Lua script for wrk (`-s`), e.g. one that makes every request a POST with a body. */
  readonly script?: string;
  /** wrk's per-request timeout (`--timeout`, seconds; wrk's default is 2). */
  readonly timeoutSeconds?: number;
}

/** A wrk script that sends every request as a POST of `bytes` bytes (application/octet-stream). */
export function uploadScript(bytes: number): string {
  return `wrk.method = "POST"\nwrk.body = string.rep("x", ${bytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`;
}

/** Runs wrk against `url` (bounded by its own duration, killed after twice that plus 10 s). */
export function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const extra: string[] = [];
  for (const [name, value] of Object.entries(options.headers ?? {})) extra.push('-H', `${name}: ${value}`);
  if (options.script !== undefined) extra.push('-s', options.script);
  if (options.timeoutSeconds !== undefined) extra.push('--timeout', `${options.timeoutSeconds}s`);
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency', ...extra, url];
  return new Promise((resolve, rejectRun) => {
    execFile(WRK, args, { timeout: (options.seconds * 2 + 10) * 1000 }, (error, stdout, stderr) => {
      if (error) return rejectRun(new Error(`wrk ${args.join(' ')}: ${error.message} ${stderr}`));
      const result = parseWrk(stdout);
      if (!Number.isFinite(result.rate)) return rejectRun(new Error(`wrk output not understood:\n${stdout}`));
      resolve(result);
    });
  });
}
