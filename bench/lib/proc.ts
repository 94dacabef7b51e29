import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** `dist/main.js` of the package (built by `npm run bench`'s prebench step). */
export const MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

export interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  stop(): Promise<void>;
}

/** Starts a process and resolves once a stdout line matches; stopped by its own pid. */
export async function startProc(args: string[], ready: (line: string) => boolean, ms = 15_000): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STEWARD_LOG_FORMAT: 'json' },
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`${args.join(' ')} not ready in ${ms} ms: ${stderr}`)), ms);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (ready(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    lines,
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

/** Parses a pino JSON line, or undefined. */
export function logLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
