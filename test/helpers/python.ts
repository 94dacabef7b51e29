import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** Debian's python3 with python3-zmq; the python3 first on PATH may be a shim without it. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function peer(name: string): string {
  return fileURLToPath(new URL(`../peers/${name}`, import.meta.url));
}

/** Runs a Python peer to completion (bounded) and returns its exit code and output. */
export function runPython(script: string, args: string[], ms = 10_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [peer(script), ...args], { timeout: ms, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** A long-running Python peer; resolves once it printed `readyLine`. Stop it by its pid with `kill()`. */
export async function startPython(script: string, args: string[], readyLine = 'READY', env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(PYTHON, [peer(script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`${script} did not print ${readyLine}: ${stderr}`)), 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.trim() === readyLine) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`${script} exited with ${code}: ${stderr}`));
    });
  });
  return child;
}

/** A long-running Python peer whose output lines are kept, for tests that watch what it did. */
export class PythonPeer {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(PYTHON, [peer(script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of [...this.waiters]) w();
    });
    this.child.on('exit', () => {
      for (const w of [...this.waiters]) w();
    });
  }

  /** Waits (bounded) for an output line matching the predicate. */
  waitForLine(predicate: (line: string) => boolean, ms = 10_000): Promise<string> {
    return new Promise((resolve, rejectWait) => {
      const check = () => {
        const found = this.lines.find(predicate);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          rejectWait(new Error(`python peer exited (${this.child.exitCode ?? this.child.signalCode}); output:\n${this.lines.join('\n')}\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rejectWait(new Error(`no matching line within ${ms} ms; output:\n${this.lines.join('\n')}\n${this.stderr}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Kills this peer, by its own pid only. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
