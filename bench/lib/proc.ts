import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** `dist/main.js` of the package (built by `npm run bench`'s prebench step). */
export const MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far (and stderr lines when `stderrLines` was asked for). */
  readonly lines: string[];
  /** Resolves with the first line from now on that matches, or rejects after `ms`. */
  nextLine(match: (line: string) => boolean, ms: number): Promise<string>;
  /** Writes a line to the child's stdin (started with `stdin: true`). */
  send(line: string): void;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for the ready line (default 15 s). */
  readonly ms?: number;
  /** Keep stdin open for `send`. */
  readonly stdin?: boolean;
  /** Match the ready line on stderr too (nats-server logs there). */
  readonly stderrLines?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** Spawns `command` without waiting for anything; see `startCommand`. */
export function spawnProcess(command: string, args: string[], options: Omit<StartOptions, 'ms'> = {}): Proc {
  const child = spawn(command, args, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: options.env ?? { ...process.env, STEWARD_LOG_FORMAT: 'json' },
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let stderr = '';
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > 10_000) lines.splice(0, 5_000);
    for (const w of [...watchers]) w(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  if (options.stderrLines) createInterface({ input: child.stderr! }).on('line', onLine);
  else child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const describe = `${command} ${args.join(' ')}`;

  const nextLine = (match: (line: string) => boolean, waitMs: number) =>
    new Promise<string>((resolve, rejectWait) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watcher);
        child.off('exit', onExit);
      };
      const watcher = (line: string) => {
        if (!match(line)) return;
        done();
        resolve(line);
      };
      const onExit = (code: number | null) => {
        done();
        rejectWait(new Error(`${describe} exited with ${code}: ${stderr || lines.slice(-5).join('\n')}`));
      };
      const timer = setTimeout(() => {
        done();
        rejectWait(new Error(`${describe}: no matching line in ${waitMs} ms: ${stderr || lines.slice(-5).join('\n')}`));
      }, waitMs);
      watchers.add(watcher);
      child.once('exit', onExit);
    });

  return {
    child,
    pid: child.pid ?? -1,
    lines,
    nextLine,
    send: (line) => {
      child.stdin?.write(`${line}\n`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Starts `command` and resolves once an output line matches `ready`; stopped by its own pid. */
export async function startCommand(command: string, args: string[], ready: (line: string) => boolean, options: StartOptions = {}): Promise<Proc> {
  const proc = spawnProcess(command, args, options);
  try {
    await proc.nextLine(ready, options.ms ?? 15_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return proc;
}

/** Starts a Node script (`args[0]`, after any node flags) and resolves once a stdout line matches. */
export function startProc(args: string[], ready: (line: string) => boolean, ms = 15_000, options: Omit<StartOptions, 'ms'> = {}): Promise<Proc> {
  return startCommand(process.execPath, args, ready, { ...options, ms });
}

/** Parses a pino JSON line, or undefined. */
export function logLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
