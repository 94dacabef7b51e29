/**
 * Several "hosts" on one switch, for multi-host fault tests: each host is a
 * network namespace with one veth into a bridge that lives in a switch
 * namespace, an address on a private /24, and its own loopback. A host is
 * partitioned by taking its switch port down (the cable pulled at the switch):
 * nothing gets through either way, TCP connections stay open and retransmit,
 * and healing puts the port back. This needs no tc netem (which this
 * project's CI kernels lack), only veth and bridge.
 *
 * Every namespace made here is removed by `teardown()`, and by an exit hook
 * should the test process die first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { IP } from './netns.js';

const run = promisify(execFile);

async function sh(args: readonly string[]): Promise<void> {
  try {
    await run(IP as string, [...args], { timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

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

const rand = () => Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');

export interface Host {
  readonly name: string;
  readonly ns: string;
  readonly addr: string;
  /** The host's end of its veth. */
  readonly dev: string;
  /** The host's port on the switch. */
  readonly port: string;
}

export type HostsSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether namespaces, veth pairs and a bridge can be made here (root or CAP_NET_ADMIN and CAP_SYS_ADMIN). */
export async function probeHosts(): Promise<HostsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux only (this is ${process.platform})` };
  if (!IP) return { ok: false, reason: 'no ip command (iproute2)' };
  if (process.env['STEWARD_NETFAULT_LINK'] === 'none') return { ok: false, reason: 'turned off with STEWARD_NETFAULT_LINK=none' };
  let hosts: Hosts | undefined;
  try {
    hosts = await Hosts.create(['probe']);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot make namespaces with a veth into a bridge: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    await hosts?.teardown();
  }
}

export class Hosts {
  private constructor(
    private readonly switchNs: string,
    readonly byName: ReadonlyMap<string, Host>,
  ) {}

  static async create(names: readonly string[]): Promise<Hosts> {
    const id = rand();
    const net = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    const switchNs = `steward-${id}-switch`;
    const byName = new Map<string, Host>();
    names.forEach((name, i) => byName.set(name, { name, ns: `steward-${id}-${name}`, addr: `${net}.${i + 1}`, dev: `stw${id}h${i}`, port: `stw${id}p${i}` }));
    const hosts = new Hosts(switchNs, byName);
    try {
      await sh(['netns', 'add', switchNs]);
      live.add(switchNs);
      await sh(['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      await sh(['-n', switchNs, 'link', 'set', 'br0', 'up']);
      for (const h of byName.values()) {
        await sh(['netns', 'add', h.ns]);
        live.add(h.ns);
        await sh(['-n', h.ns, 'link', 'set', 'lo', 'up']);
        await sh(['link', 'add', h.dev, 'netns', h.ns, 'type', 'veth', 'peer', 'name', h.port, 'netns', switchNs]);
        await sh(['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', h.dev]);
        await sh(['-n', h.ns, 'link', 'set', h.dev, 'up']);
        await sh(['-n', switchNs, 'link', 'set', h.port, 'master', 'br0']);
        await sh(['-n', switchNs, 'link', 'set', h.port, 'up']);
      }
      return hosts;
    } catch (error) {
      await hosts.teardown();
      throw error;
    }
  }

  host(name: string): Host {
    const h = this.byName.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** `ip netns exec NS`: a command prefix that runs a process on the host. */
  exec(name: string): string[] {
    return [IP as string, 'netns', 'exec', this.host(name).ns];
  }

  /** Cuts the host off from every other host (its switch port goes down). */
  async partition(name: string): Promise<void> {
    await sh(['-n', this.switchNs, 'link', 'set', this.host(name).port, 'down']);
  }

  async heal(name: string): Promise<void> {
    await sh(['-n', this.switchNs, 'link', 'set', this.host(name).port, 'up']);
  }

  /** Removes every namespace (processes on the hosts must be stopped first). */
  async teardown(): Promise<void> {
    for (const ns of [...[...this.byName.values()].map((h) => h.ns), this.switchNs]) {
      if (!live.has(ns)) continue;
      await sh(['netns', 'del', ns]).catch(() => undefined);
      live.delete(ns);
    }
  }
}
