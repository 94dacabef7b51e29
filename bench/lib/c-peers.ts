/**
 * The C peers (bench/peers/mdp-client.c, mdp-worker.c, and the
 * mdp-message.h they share; gateway-plain-node.c), compiled at bench
 * time with the machine's gcc against libzmq (Debian: gcc, libzmq3-dev) into
 * dist-bench/peers-c/, not committed. Rebuilt when a source is newer than its
 * binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this module with a package.json (this file runs from dist-bench/ and, in tests, from bench/). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return `${dir}/`;
}

const ROOT = repositoryRoot();
const SOURCES = `${ROOT}bench/peers/`;
const OUT = `${ROOT}dist-bench/peers-c/`;

export interface CPeers {
  /** `mdp-client ENDPOINT`, then `run SERVICE IN_FLIGHT DURATION_MS BYTES` lines on stdin. */
  readonly client: string;
  /** `mdp-worker ENDPOINT SERVICE [HEARTBEAT_MS]`. */
  readonly worker: string;
}

/** Compiles bench/peers/NAME.c (rebuilt when it or one of `headers` is newer than the binary); `what` names it in errors. */
export function compileCPeer(name: string, headers: readonly string[] = [], what = 'the broker suite compiles its MDP peers'): string {
  mkdirSync(OUT, { recursive: true });
  const source = `${SOURCES}${name}.c`;
  const binary = `${OUT}${name}`;
  const newest = Math.max(statSync(source).mtimeMs, ...headers.map((h) => statSync(`${SOURCES}${h}`).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  const gcc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', binary, source, '-lzmq'], { encoding: 'utf8' });
  if (gcc.error && (gcc.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`gcc is missing: ${what} (${source}); install it with apt-get install gcc libzmq3-dev`);
  }
  if (gcc.status !== 0) {
    const missingZmq = /zmq\.h|-lzmq/.test(gcc.stderr);
    throw new Error(
      missingZmq
        ? `zmq.h or libzmq is missing, needed to compile ${source}: install it with apt-get install libzmq3-dev\n${gcc.stderr}`
        : `gcc could not compile ${source}:\n${gcc.stderr}`,
    );
  }
  return binary;
}

export function buildCPeers(): CPeers {
  return { client: compileCPeer('mdp-client', ['mdp-message.h']), worker: compileCPeer('mdp-worker', ['mdp-message.h']) };
}
