/**
 * Where the fleet lives: in this process (the short form the test suite
 * runs), or in child processes (the long form: thousands of sockets spread
 * over a few processes, as separate machines would be). Both answer the same
 * commands, so the driver does not care which.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Client } from '../../src/api/client.js';
import type { Worker } from '../../src/api/worker.js';
import { runPhase, startClients, startWorkers, stopAll, type ClientFleetOptions, type Phase, type PhaseResult, type WorkerFleetOptions } from './fleet.js';

export type HostCommand =
  | { readonly type: 'workers'; readonly options: WorkerFleetOptions }
  | { readonly type: 'clients'; readonly options: ClientFleetOptions }
  | { readonly type: 'run'; readonly phase: Phase }
  | { readonly type: 'stop' };

export type HostReply =
  | { readonly type: 'started'; readonly count: number }
  | { readonly type: 'result'; readonly result: PhaseResult }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

export interface FleetHost {
  readonly name: string;
  /** Clients this host holds (the paced rate is split by it). */
  clientCount: number;
  startWorkers(options: WorkerFleetOptions): Promise<void>;
  startClients(options: ClientFleetOptions): Promise<void>;
  run(phase: Phase): Promise<PhaseResult>;
  stop(): Promise<void>;
}

/** The fleet in this process. */
export class InProcessHost implements FleetHost {
  clientCount = 0;
  private workers: Worker[] = [];
  private clients: Client[] = [];

  constructor(readonly name: string) {}

  async startWorkers(options: WorkerFleetOptions): Promise<void> {
    this.workers.push(...startWorkers(options));
  }

  async startClients(options: ClientFleetOptions): Promise<void> {
    this.clients.push(...startClients(options));
    this.clientCount = this.clients.length;
  }

  run(phase: Phase): Promise<PhaseResult> {
    return runPhase(this.clients, phase, this.name);
  }

  async stop(): Promise<void> {
    await stopAll(this.workers, this.clients);
    this.workers = [];
    this.clients = [];
  }
}

/** The fleet in a child process running `host-main.js`, driven over IPC; stopped by its own pid. */
export class ChildHost implements FleetHost {
  clientCount = 0;
  private readonly child: ChildProcess;
  private waiter: ((reply: HostReply) => void) | undefined;

  constructor(
    readonly name: string,
    script: string,
  ) {
    this.child = fork(script, [name], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: HostReply) => this.waiter?.(reply));
    this.child.on('exit', (code) => this.waiter?.({ type: 'failed', message: `host ${name} exited with ${code}` }));
  }

  private ask(command: HostCommand): Promise<HostReply> {
    return new Promise((resolve, rejectAsk) => {
      this.waiter = (reply) => {
        this.waiter = undefined;
        if (reply.type === 'failed') rejectAsk(new Error(`${this.name}: ${reply.message}`));
        else resolve(reply);
      };
      this.child.send(command);
    });
  }

  async startWorkers(options: WorkerFleetOptions): Promise<void> {
    await this.ask({ type: 'workers', options });
  }

  async startClients(options: ClientFleetOptions): Promise<void> {
    const reply = await this.ask({ type: 'clients', options });
    if (reply.type === 'started') this.clientCount = reply.count;
  }

  async run(phase: Phase): Promise<PhaseResult> {
    const reply = await this.ask({ type: 'run', phase });
    if (reply.type !== 'result') throw new Error(`${this.name}: expected a result, got ${reply.type}`);
    return reply.result;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      await this.ask({ type: 'stop' }).catch(() => undefined);
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
