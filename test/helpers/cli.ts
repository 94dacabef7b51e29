import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A real `node dist/main.js` process. stdout JSON log lines are parsed (the
 * role's printed output is kept as text lines too); stopped only by its own pid.
 */
export class CliProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly lines: string[] = [];
  stderr = '';
  private readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  /** `prefix` runs the process through another command, e.g. `['ip', 'netns', 'exec', NAME]` (which execs node in place). */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []) {
    const [command, ...before] = prefix.length > 0 ? prefix : [process.execPath];
    const argv = prefix.length > 0 ? [...before, process.execPath, MAIN, ...args] : [MAIN, ...args];
    this.child = spawn(command as string, argv, {
      env: { ...process.env, STEWARD_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      if (line.startsWith('{')) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
      for (const w of this.waiters) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits (bounded) for a log line matching the predicate and returns it. */
  async waitForLog(predicate: (l: LogLine) => boolean, ms = 10_000): Promise<LogLine> {
    return this.waitFor(() => this.logs.find(predicate), ms, 'log line');
  }

  async waitForLine(predicate: (l: string) => boolean, ms = 10_000): Promise<string> {
    return this.waitFor(() => this.lines.find(predicate), ms, 'output line');
  }

  private waitFor<T>(find: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise((resolve, rejectWait) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        rejectWait(new Error(`no ${what} within ${ms} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Exit code, bounded by `ms`. */
  async exit(ms = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rejectExit) => {
      timer = setTimeout(() => rejectExit(new Error(`process ${this.child.pid} did not exit within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }

  /** Stops the process if it still runs: SIGTERM, then SIGKILL after a grace period. */
  async stop(ms = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal('SIGTERM');
    try {
      await this.exit(ms);
    } catch {
      this.signal('SIGKILL');
      await this.exit(ms).catch(() => undefined);
    }
  }
}

/** Runs a one-shot command to completion (bounded) and returns its exit code and output. */
export async function runCli(args: string[], ms = 15_000, env: NodeJS.ProcessEnv = {}) {
  const p = new CliProcess(args, env);
  const code = await p.exit(ms);
  return { code, stdout: p.lines.join('\n'), stderr: p.stderr, logs: p.logs };
}
