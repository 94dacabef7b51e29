import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RpcMethods } from '../api/rpc-methods.js';
import { UsageError } from './errors.js';
import type { Handler } from '../machines/worker/worker-call.js';

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

/**
 * Loads `--rpc PATH`: the module's default export when it is an object (its
 * methods are served), else the module itself (its exported functions).
 */
export async function loadRpcModule(path: string): Promise<object> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `--rpc ${path}: cannot load the module (${error instanceof Error ? error.message : String(error)})`,
      '--rpc ./service.js (an ES module exporting functions, or an object as default)',
    );
  }
  const def = mod['default'];
  const target = typeof def === 'object' && def !== null ? def : mod;
  if (new RpcMethods().register(target).names().length === 0) {
    throw new UsageError(`--rpc ${path}: the module exports no functions to serve`, 'export function resize_image(name, size) { ... }');
  }
  return target;
}
