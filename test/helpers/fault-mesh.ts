/**
 * Real broker and worker processes for fault tests, stopped by their own pid
 * when the test ends. Workers run the counting handler and record what they
 * execute in a temp directory; names are given with --identity so the
 * broker's logs can be matched to a process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { Client, type ClientOptions } from '../../src/api/client.js';
import { CliProcess, type LogLine } from './cli.js';
import { COUNTING_HANDLER, ReplyTap } from './counting.js';

export const SERVICE = 'counted';

export const hexOf = (identity: string) => Buffer.from(identity).toString('hex');

export interface MeshWorker {
  readonly proc: CliProcess;
  readonly identity: string;
  /** The ids this worker executed, one per line. */
  readonly record: string;
}

export class FaultMesh {
  readonly procs: CliProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'steward-faults-'));

  /** Extra environment for every process (a preload for fault injection, say), and a command prefix (a network namespace). */
  constructor(
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly prefix: readonly string[] = [],
  ) {}

  start(args: string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = this.prefix): CliProcess {
    const p = new CliProcess(args, { ...this.env, ...env }, prefix);
    this.procs.push(p);
    return p;
  }

  /** A broker; endpoints are read back from its log (ephemeral ports unless given). */
  async broker(args: string[] = [], env: NodeJS.ProcessEnv = {}, prefix?: readonly string[]) {
    const hasFrontend = args.includes('--frontend');
    const base = hasFrontend ? [] : ['--frontend', 'tcp://127.0.0.1:*', '--backend', 'tcp://127.0.0.1:*'];
    const proc = this.start(['--role', 'broker', ...base, ...args], env, prefix);
    const line = await proc.waitForLog((l) => l.msg === 'broker listening', 15_000);
    const endpoints = line['endpoints'] as Record<string, string[]>;
    return { proc, frontend: endpoints['broker.frontend']![0]!, backend: endpoints['broker.backend']![0]!, listening: line };
  }

  worker(backend: string | readonly string[], identity: string, options: { delayMs?: number; heartbeatMs?: number; args?: string[]; prefix?: readonly string[] } = {}): MeshWorker {
    const record = join(this.dir, `${identity}.ids`);
    const brokers = (typeof backend === 'string' ? [backend] : backend).flatMap((b) => ['--broker', b]);
    const proc = this.start(
      [
        '--role',
        'worker',
        '--service',
        SERVICE,
        ...brokers,
        '--handler',
        COUNTING_HANDLER,
        '--identity',
        identity,
        '--heartbeat',
        String(options.heartbeatMs ?? 200),
        ...(options.args ?? []),
      ],
      { STEWARD_TEST_RECORD: record, STEWARD_TEST_DELAY_MS: String(options.delayMs ?? 0) },
      options.prefix ?? this.prefix,
    );
    return { proc, identity, record };
  }

  async stop(): Promise<void> {
    for (const p of this.procs.splice(0).reverse()) {
      // A stopped process cannot handle SIGTERM: wake it first.
      p.signal('SIGCONT');
      await p.stop();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits for a broker log line about `identity`, appearing after `from` lines of the log. */
export function brokerSaid(broker: CliProcess, msg: string, identity: string, from = 0, ms = 15_000, extra: (l: LogLine) => boolean = () => true): Promise<LogLine> {
  const hex = hexOf(identity);
  return broker.waitForLog((l) => l.msg === msg && l['worker'] === hex && broker.logs.indexOf(l) >= from && extra(l), ms);
}

export const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/**
 * A fault test file's per-test state, registered once at its top: a reply tap installed before each test;
 * after it, the clients it made closed, the tap removed and the mesh's processes stopped. A test gets a
 * plain FaultMesh from `mesh`, or runs one of its own (fault injection, say) given to `use`.
 */
export function faultTestScope() {
  let mesh: FaultMesh | undefined;
  let tap: ReplyTap | undefined;
  const clients: Client[] = [];
  beforeEach(() => {
    tap = new ReplyTap().install();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    tap?.uninstall();
    await mesh?.stop();
    mesh = undefined;
  });
  return {
    get mesh(): FaultMesh {
      return (mesh ??= new FaultMesh());
    },
    use(own: FaultMesh): FaultMesh {
      mesh = own;
      return own;
    },
    get tap(): ReplyTap {
      if (!tap) throw new Error('the reply tap is installed before each test');
      return tap;
    },
    client(options: ClientOptions): Client {
      const c = new Client(options);
      clients.push(c);
      return c;
    },
  };
}
