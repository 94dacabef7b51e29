import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Caller } from './counting.js';
import { withTimeout } from './zmq.js';

const AGENT = fileURLToPath(new URL('../fixtures/client-agent.mjs', import.meta.url));

type AgentMessage =
  | { type: 'ready' }
  | { type: 'reply'; n: number; ok: true; frames: string[] }
  | { type: 'reply'; n: number; ok: false; error: { name: string; message: string } }
  | { type: 'tap'; counts: Record<string, number> };

/**
 * A steward Client running in a process of its own (test/fixtures/client-agent.mjs),
 * started through `prefix` (`ip netns exec NS`): calls and the reply tap over JSON lines.
 */
export class RemoteClient implements Caller {
  private readonly child: ChildProcess;
  private readonly calls = new Map<number, { resolve: (frames: Buffer[]) => void; reject: (error: Error) => void }>();
  private tapWaiter: ((counts: Map<string, number>) => void) | undefined;
  private readyWaiter: (() => void) | undefined;
  private n = 0;

  constructor(prefix: readonly string[], broker: string | readonly string[], timeoutMs: number, retries: number, heartbeatMs?: number) {
    const [command, ...before] = [...prefix, process.execPath];
    const brokers = typeof broker === 'string' ? broker : broker.join(',');
    const args = [AGENT, brokers, String(timeoutMs), String(retries), ...(heartbeatMs !== undefined ? [String(heartbeatMs)] : [])];
    this.child = spawn(command as string, [...before, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(JSON.parse(line) as AgentMessage));
  }

  ready(): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => (this.readyWaiter = resolve)), 15_000, 'the client agent');
  }

  call(service: string, body: string, options: { timeout?: number; retries?: number; waitForWorker?: boolean } = {}): Promise<Buffer[]> {
    const n = ++this.n;
    return new Promise((resolve, reject) => {
      this.calls.set(n, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ type: 'call', n, service, body, ...options })}\n`);
    });
  }

  /** The same client with other per-call timeout and retries. */
  with(options: { timeout: number; retries: number; waitForWorker?: boolean }): Caller {
    return { call: (service, body) => this.call(service, body, options) };
  }

  /** Replies received per request attempt, on the agent's wire. */
  tap(): Promise<{ counts: Map<string, number> }> {
    return withTimeout(
      new Promise<{ counts: Map<string, number> }>((resolve) => {
        this.tapWaiter = (counts) => resolve({ counts });
        this.child.stdin!.write(`${JSON.stringify({ type: 'tap' })}\n`);
      }),
      5_000,
      'the agent tap',
    );
  }

  private onLine(m: AgentMessage): void {
    if (m.type === 'ready') this.readyWaiter?.();
    else if (m.type === 'tap') this.tapWaiter?.(new Map(Object.entries(m.counts)));
    else {
      const call = this.calls.get(m.n);
      this.calls.delete(m.n);
      if (!call) return;
      if (m.ok) call.resolve(m.frames.map((f) => Buffer.from(f)));
      else {
        const error = new Error(m.error.message);
        error.name = m.error.name;
        call.reject(error);
      }
    }
  }

  /** Ends the agent (stdin closed) and waits for it, bounded; killed by its own pid if it lingers. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await withTimeout(exited, 5_000, 'the client agent to exit').catch(() => this.child.kill('SIGKILL'));
  }
}
