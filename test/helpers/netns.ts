/**
 * Two network namespaces joined by one faulty link, for network-fault tests:
 * a broker namespace and a worker namespace, each with a private /30 address
 * on its end of the link and its own loopback; nothing else is reachable.
 *
 * The link is a veth pair shaped with `tc netem` (delay, loss, loss 100% for
 * a partition) where the kernel has sch_netem. Where it does not (this
 * project's CI VMs lack CONFIG_NET_SCH_NETEM), the same faults come from a
 * userspace link: two TUN devices and test/fixtures/tun-link.py forwarding
 * packets between them, delaying and dropping them. Either way the processes
 * see real IP packets delayed and lost, and TCP recovers (or not) by itself.
 *
 * Every namespace, device and qdisc created here is removed by `teardown()`,
 * and, should the test process die first, by an exit hook.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { PYTHON } from './python.js';

const run = promisify(execFile);

export const IP = ['/usr/sbin/ip', '/sbin/ip', '/bin/ip', '/usr/bin/ip'].find((p) => existsSync(p));
export const TC = ['/usr/sbin/tc', '/sbin/tc', '/bin/tc', '/usr/bin/tc'].find((p) => existsSync(p));
const TUN_LINK = fileURLToPath(new URL('../fixtures/tun-link.py', import.meta.url));

export type LinkKind = 'netem' | 'tun';
export type NetnsSupport = { readonly ok: true; readonly link: LinkKind; readonly note: string } | { readonly ok: false; readonly reason: string };

/** A command failed; `said` is what it printed on stderr (or how it failed). */
class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly said: string,
  ) {
    super(`${command}: ${said}`);
  }
}

async function sh(command: string, args: readonly string[]): Promise<void> {
  try {
    await run(command, [...args], { timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new CommandError([command, ...args].join(' '), stderr || (error as Error).message);
  }
}

const said = (error: unknown) => ((error instanceof CommandError ? error.said : error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '').trim();
const rand = () => Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');

/**
 * Whether this machine lets a test make namespaces, and which link it can
 * shape. STEWARD_NETFAULT_LINK=tun forces the userspace link (to test it
 * where netem exists too); =none turns the tests off (they say so and skip).
 */
export async function probeNetns(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux only (this is ${process.platform})` };
  if (!IP) return { ok: false, reason: 'no ip command (iproute2) at /usr/sbin/ip, /sbin/ip or /bin/ip' };
  if (process.env['STEWARD_NETFAULT_LINK'] === 'none') return { ok: false, reason: 'turned off with STEWARD_NETFAULT_LINK=none' };
  const ns = `steward-probe-${rand()}`;
  try {
    await sh(IP, ['netns', 'add', ns]);
  } catch (error) {
    return { ok: false, reason: `cannot create a network namespace (needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN): ip netns add said "${said(error)}"` };
  }
  try {
    let netemProblem = 'forced off by STEWARD_NETFAULT_LINK=tun';
    if (process.env['STEWARD_NETFAULT_LINK'] !== 'tun') {
      try {
        if (!TC) throw new Error('no tc command (iproute2)');
        await sh(IP, ['netns', 'exec', ns, TC, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
        return { ok: true, link: 'netem', note: 'veth pair shaped with tc netem' };
      } catch (error) {
        netemProblem = `tc said "${said(error)}"`;
      }
    }
    if (existsSync('/dev/net/tun') && (await hasPython())) {
      return { ok: true, link: 'tun', note: `tc netem unavailable (${netemProblem}): faults injected by a userspace TUN link (test/fixtures/tun-link.py)` };
    }
    return { ok: false, reason: `tc netem unavailable (${netemProblem}), and no /dev/net/tun with python3 for the userspace link` };
  } finally {
    await sh(IP, ['netns', 'del', ns]).catch(() => undefined);
  }
}

async function hasPython(): Promise<boolean> {
  try {
    await run(PYTHON, ['-c', 'import fcntl, select, struct'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Namespaces this process made and has not removed yet: removed on exit whatever happens. */
const live = new Set<string>();
process.on('exit', () => {
  for (const ns of live) {
    try {
      execFileSync(IP as string, ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // already gone
    }
  }
});

export interface LinkEnd {
  readonly ns: string;
  readonly dev: string;
  readonly addr: string;
}

/** Two namespaces and the faulty link between them. */
export class FaultyLink {
  private relay: ChildProcess | undefined;
  private relayLines: string[] = [];
  private relayWaiters: Array<() => void> = [];

  private constructor(
    readonly kind: LinkKind,
    readonly broker: LinkEnd,
    readonly workers: LinkEnd,
  ) {}

  /** `ip netns exec NS`: a command prefix that runs a process inside one end's namespace. */
  exec(end: LinkEnd): string[] {
    return [IP as string, 'netns', 'exec', end.ns];
  }

  static async create(kind: LinkKind): Promise<FaultyLink> {
    const id = rand();
    // 10.(200..249).x.(4k+1, 4k+2)/30: private, random, and away from anything a host routes.
    const net = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    const base = Math.floor(Math.random() * 63) * 4;
    const broker: LinkEnd = { ns: `steward-${id}-broker`, dev: `stw${id}b`, addr: `${net}.${base + 1}` };
    const workers: LinkEnd = { ns: `steward-${id}-workers`, dev: `stw${id}w`, addr: `${net}.${base + 2}` };
    const link = new FaultyLink(kind, broker, workers);
    try {
      for (const end of [broker, workers]) {
        await sh(IP as string, ['netns', 'add', end.ns]);
        live.add(end.ns);
        await sh(IP as string, ['-n', end.ns, 'link', 'set', 'lo', 'up']);
      }
      if (kind === 'netem') {
        await sh(IP as string, ['link', 'add', broker.dev, 'netns', broker.ns, 'type', 'veth', 'peer', 'name', workers.dev, 'netns', workers.ns]);
        await sh(IP as string, ['-n', broker.ns, 'addr', 'add', `${broker.addr}/30`, 'dev', broker.dev]);
        await sh(IP as string, ['-n', workers.ns, 'addr', 'add', `${workers.addr}/30`, 'dev', workers.dev]);
      } else {
        await link.startRelay();
        await sh(IP as string, ['link', 'set', broker.dev, 'netns', broker.ns]);
        await sh(IP as string, ['link', 'set', workers.dev, 'netns', workers.ns]);
        await sh(IP as string, ['-n', broker.ns, 'addr', 'add', broker.addr, 'peer', workers.addr, 'dev', broker.dev]);
        await sh(IP as string, ['-n', workers.ns, 'addr', 'add', workers.addr, 'peer', broker.addr, 'dev', workers.dev]);
      }
      for (const end of [broker, workers]) await sh(IP as string, ['-n', end.ns, 'link', 'set', end.dev, 'up']);
      return link;
    } catch (error) {
      await link.teardown();
      throw error;
    }
  }

  private async startRelay(): Promise<void> {
    const relay = spawn(PYTHON, [TUN_LINK, this.broker.dev, this.workers.dev, '8'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.relay = relay;
    createInterface({ input: relay.stdout! }).on('line', (line) => {
      this.relayLines.push(line);
      for (const w of this.relayWaiters.splice(0)) w();
    });
    await this.relayAnswer('ready');
  }

  private relayAnswer(line: string, ms = 10_000): Promise<void> {
    return new Promise((resolve, rejectWait) => {
      const timer = setTimeout(() => rejectWait(new Error(`tun link did not say "${line}" within ${ms} ms`)), ms);
      const check = () => {
        const at = this.relayLines.indexOf(line);
        if (at >= 0) {
          this.relayLines.splice(at, 1);
          clearTimeout(timer);
          resolve();
        } else this.relayWaiters.push(check);
      };
      check();
    });
  }

  private async relayCommand(command: string): Promise<void> {
    this.relay?.stdin?.write(`${command}\n`);
    await this.relayAnswer(`ok ${command}`);
  }

  private async netem(args: readonly string[]): Promise<void> {
    for (const end of [this.broker, this.workers]) {
      await sh(IP as string, ['netns', 'exec', end.ns, TC as string, 'qdisc', 'replace', 'dev', end.dev, 'root', 'netem', ...args]);
    }
  }

  /** Every packet held `ms` each way (round trips take 2 x ms longer). */
  async delay(ms: number): Promise<void> {
    if (this.kind === 'netem') await this.netem(['delay', `${ms}ms`]);
    else await this.relayCommand(`delay ${ms}`);
  }

  /** Each packet lost with probability `fraction`, each way. */
  async loss(fraction: number): Promise<void> {
    if (this.kind === 'netem') await this.netem(['loss', `${fraction * 100}%`]);
    else await this.relayCommand(`loss ${fraction}`);
  }

  /** Nothing gets through, either way; TCP connections stay open and retransmit. */
  async partition(): Promise<void> {
    if (this.kind === 'netem') await this.netem(['loss', '100%']);
    else await this.relayCommand('partition');
  }

  /** A clean link again. */
  async heal(): Promise<void> {
    if (this.kind === 'netem') {
      for (const end of [this.broker, this.workers]) {
        await sh(IP as string, ['netns', 'exec', end.ns, TC as string, 'qdisc', 'del', 'dev', end.dev, 'root']).catch(() => undefined);
      }
    } else await this.relayCommand('heal');
  }

  /** Removes what this link created (processes in the namespaces must be stopped first). */
  async teardown(): Promise<void> {
    if (this.relay && this.relay.exitCode === null && this.relay.signalCode === null) {
      this.relay.stdin?.end('quit\n');
      const relay = this.relay;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          relay.kill('SIGKILL');
          resolve();
        }, 3_000);
        relay.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const end of [this.workers, this.broker]) {
      if (!live.has(end.ns)) continue;
      await sh(IP as string, ['netns', 'del', end.ns]).catch(() => undefined);
      live.delete(end.ns);
    }
  }
}
