#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { commonOptions, commonUsage } from './cli/common-options.js';
import { ConfigError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli/errors.js';
import { flagBool, flagString, type Flags, type RoleDefinition, type RoleRun } from './cli/role.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { loadAllRoles, roles } from './roles/index.js';
import { startObservability } from './runtime/observability.js';
import { shutdownRole, whenStopped, isFailed } from './runtime/run-role.js';
import { asStartupUsage } from './runtime/startup-failure.js';
import { StartupError, startFailureError } from './api/start-failure.js';
import { VERSION } from './version.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const DEFAULT_INSPECT_PORT = '7777';

async function topUsage(): Promise<string> {
  const all = await loadAllRoles();
  const width = Math.max(...all.map((r) => r.name.length), 4);
  const list = all.map((r) => `  ${r.name.padEnd(width)}  ${r.summary}`).join('\n');
  return `steward ${VERSION}: a ZeroMQ service mesh run as a supervised actor system

Usage: steward --role ROLE [flags]     (or: node dist/main.js --role ROLE [flags])
       steward --role ROLE --help      flags of one role

Roles:
${list}

${commonUsage}`;
}

/** `--inspect` may stand alone; parseArgs needs a value, so give it the default port. */
function normalizeArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    out.push(arg);
    if (arg === '--inspect') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) out.push(DEFAULT_INSPECT_PORT);
    }
  }
  return out;
}

function findRole(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--role') return argv[i + 1];
    if (arg.startsWith('--role=')) return arg.slice('--role='.length);
  }
  // `steward keygen` style: a bare role name first.
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && roles.some((r) => r.name === first)) return first;
  return undefined;
}

function parseFor(role: RoleDefinition | undefined, argv: string[]): { flags: Flags; positionals: string[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...commonOptions, ...(role?.options ?? {}) },
    allowPositionals: true,
    strict: true,
  });
  const rest = role && argv[0] === role.name ? positionals.slice(1) : positionals;
  if (rest.length > 0 && !role?.allowPositionals) {
    throw new UsageError(`unexpected argument "${rest[0]}"`, `steward --role ${role?.name ?? 'ROLE'} --help`);
  }
  return { flags: values as Flags, positionals: rest };
}

async function main(argv: string[]): Promise<number> {
  const args = normalizeArgv(argv);
  const roleName = findRole(args);
  const entry = roleName === undefined ? undefined : roles.find((r) => r.name === roleName);
  if (roleName !== undefined && !entry) {
    throw new UsageError(`unknown role "${roleName}"`, `one of: ${roles.map((r) => r.name).join(', ')}`);
  }
  const role = await entry?.load();
  const { flags, positionals } = parseFor(role, args);
  if (flagBool(flags, 'version')) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT_OK;
  }
  if (flagBool(flags, 'help') || !role) {
    process.stdout.write(`${role ? `${role.usage}\n\n${commonUsage}` : await topUsage()}\n`);
    if (!role && !flagBool(flags, 'help')) {
      process.stderr.write('\nsteward: --role is required, for example: steward --role broker\n');
      return EXIT_USAGE;
    }
    return EXIT_OK;
  }

  const level = flagBool(flags, 'debug') ? 'debug' : (flagString(flags, 'log-level') ?? 'info');
  if (!LEVELS.has(level)) {
    throw new UsageError(`--log-level must be one of ${[...LEVELS].join(', ')}, got "${level}"`, '--log-level info');
  }
  const logger = createLogger({ level: level as LevelWithSilent, name: role.name });
  const metrics = new Metrics(role.name);
  const reloaders: Array<() => void> = [];
  // A signal may come while the role is still starting (its peers can already see it):
  // hold it, then act on it once the role can be shut down, instead of dying half-started.
  const early: NodeJS.Signals[] = [];
  const hold = (signal: NodeJS.Signals) => early.push(signal);
  const ignoreHup = () => undefined;
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  process.on('SIGHUP', ignoreHup);
  const release = () => {
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
    process.off('SIGHUP', ignoreHup);
  };
  // --inspect, --inspect-stately, --metrics: servers that live as long as the role.
  const observability = await startObservability({ flags, logger, metrics });
  let run: RoleRun;
  try {
    run = await role.start({
      logger,
      metrics,
      flags,
      positionals,
      onReload: (h) => reloaders.push(h),
      out: process.stdout,
      ...(observability.inspect ? { inspect: observability.inspect } : {}),
    });
  } catch (error) {
    release();
    await observability.close();
    logger.flush();
    throw asStartupUsage(error, role, flags);
  }
  const roleClose = run.close;
  run = {
    ...run,
    close: async () => {
      await roleClose?.();
      await observability.close();
    },
  };
  const result = supervise(run, logger, reloaders, early[0], (error) => asStartupUsage(error, role, flags), flagBool(flags, 'parent-watch'));
  release();
  return result;
}

/** Waits for the role to end by itself, fail, or be told to stop by a signal. */
function supervise(
  run: RoleRun,
  logger: Logger,
  reloaders: Array<() => void>,
  pending: NodeJS.Signals | undefined,
  explain: (error: unknown) => unknown,
  parentWatch: boolean,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onHup);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        logger.flush();
        process.exit(EXIT_FAILURE);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      void shutdownRole(run, { logger }).then(finish, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        finish(EXIT_FAILURE);
      });
    };
    const onHup = () => {
      logger.info('SIGHUP: reloading');
      for (const r of reloaders) r();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onHup);
    if (parentWatch) {
      // The spawning process holds our stdin: its end means the parent is gone, however it died.
      process.stdin.on('end', () => {
        logger.info('parent closed stdin');
        if (!stopping) onSignal('SIGTERM');
      });
      process.stdin.on('error', () => undefined);
      process.stdin.resume();
    }
    if (pending !== undefined) {
      onSignal(pending);
      return;
    }

    if (run.done) {
      void run.done.then(
        async (code) => {
          if (stopping) return;
          stopping = true;
          await shutdownRole(run, { logger });
          finish(code);
        },
        async (error: unknown) => {
          if (stopping) return;
          stopping = true;
          const explained = explain(error);
          reportError(explained, logger);
          await shutdownRole(run, { logger });
          finish(exitCodeOf(explained));
        },
      );
    }
    if (run.root) {
      void whenStopped(run.root).then(async (result) => {
        if (stopping) return;
        stopping = true;
        // A tree that failed while starting (a role whose start does not wait for it: worker, mesh) says why in one line.
        const startError = startFailureError(result);
        if (startError) {
          const explained = explain(startError);
          reportError(explained, logger);
          await run.close?.();
          finish(exitCodeOf(explained));
          return;
        }
        const failed = result.status === 'error' || isFailed(result.output);
        if (failed) logger.fatal({ output: result.output, err: result.error }, 'supervision tree gave up');
        await run.close?.();
        finish(failed ? EXIT_FAILURE : EXIT_OK);
      });
    }
  });
}

function exitCodeOf(error: unknown): number {
  return error instanceof UsageError || error instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
}

function reportError(error: unknown, logger?: Logger): void {
  if (error instanceof UsageError) {
    process.stderr.write(`steward: ${error.message}\n${error.hint ? `try: ${error.hint}\n` : ''}`);
  } else if (error instanceof ConfigError) {
    process.stderr.write(`steward: bad configuration: ${error.message}\n`);
  } else if (error instanceof StartupError) {
    logger?.error({ err: error }, 'failed to start');
    process.stderr.write(`steward: ${error.message}\n`);
  } else if (error instanceof Error && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`steward: ${error.message}\ntry: steward --help\n`);
  } else if (logger) {
    logger.fatal({ err: error }, 'failed');
  } else {
    process.stderr.write(`steward: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Sockets and timers of a stopped tree are closed; anything left must not keep us alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    reportError(error);
    const code =
      error instanceof Error && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT_USAGE : exitCodeOf(error);
    process.exit(code);
  },
);
