import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { fromResource } from './from-resource.js';

export interface ChildProcessConfig {
  /** For log lines. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logger?: Logger;
  /** How long after SIGTERM the child gets before SIGKILL. */
  readonly killAfterMs?: number;
}

/**
 * Another OS process as a supervised actor. Its stdin is a pipe this process
 * holds: a child started with `--parent-watch` exits when that pipe closes,
 * so it never outlives a parent that was killed outright. Stopping the actor
 * sends SIGTERM (then SIGKILL); the child exiting by itself fails the actor,
 * and its supervisor decides what follows.
 */
export function childProcess(config: ChildProcessConfig) {
  const log = (config.logger ?? silentLogger).child({ child: config.name });
  const killAfterMs = config.killAfterMs ?? 5_000;
  return fromResource<{ type: string }, void>(({ fail }) => {
    const child = spawn(config.command, [...config.args], { stdio: ['pipe', 'inherit', 'inherit'] });
    let stopping = false;
    log.info({ pid: child.pid, command: config.command, args: config.args }, 'child process started');
    // A parent that exits closes the pipe; a write error on it must not crash the parent.
    child.stdin?.on('error', () => undefined);
    child.on('error', (error) => {
      if (!stopping) fail(error);
    });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      log.warn({ pid: child.pid, code, signal }, 'child process exited');
      fail(new Error(`${config.name} exited (${signal ?? `code ${code}`})`));
    });
    return () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, killAfterMs);
      timer.unref();
      child.once('exit', () => clearTimeout(timer));
      child.stdin?.end();
    };
  });
}
