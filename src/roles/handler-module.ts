import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../cli/errors.js';
import type { Handler } from '../machines/worker/request.js';

/** Loads `--handler PATH`: a module whose default export (or `handler` export) answers requests. */
export async function loadHandler(path: string): Promise<Handler> {
  let mod: { default?: unknown; handler?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; handler?: unknown };
  } catch (error) {
    throw new UsageError(
      `--handler ${path}: cannot load the module (${error instanceof Error ? error.message : String(error)})`,
      '--handler ./my-handler.js (an ES module exporting `default async (request) => reply`)',
    );
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.handler;
  if (typeof fn !== 'function') {
    throw new UsageError(
      `--handler ${path}: the module exports no function as \`default\` or \`handler\``,
      'export default async function (request) { return request.body; }',
    );
  }
  return fn as Handler;
}

/** The built-in handler: echo the request frames back. */
export const echoHandler: Handler = (request) => request.body as Buffer[];
