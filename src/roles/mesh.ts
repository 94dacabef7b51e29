import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../actors/child-process.js';
import type { AnyActorRef } from 'xstate';
import { createRootActor } from '../api/runtime-options.js';
import { RpcRegistry } from '../api/rpc-registry.js';
import { flagBool, flagInt, flagString, type RoleDefinition } from '../cli/role.js';
import { loadBalancerConfig } from '../config/balancer-config.js';
import { ImagesService } from '../services/images.js';
import { supervisor } from '../supervisor/supervisor.js';
import { balancerTree, balancerTreeIds } from '../supervisor/trees/balancer.js';
import { brokerTree, brokerTreeIds } from '../supervisor/trees/broker.js';
import { dispatcherTree } from '../supervisor/trees/dispatcher.js';
import { gatewayTree } from '../supervisor/trees/gateway.js';
import { GatewayBackend } from '../api/gateway-backend.js';
import { gatewaySettings } from '../api/gateway.js';
import { registryTree } from '../supervisor/trees/registry.js';
import { loadKeywordsFile } from '../config/keywords-file.js';
import type { Logger } from '../log.js';
import type { CurveClientOptions, CurveServerOptions } from '../security/curve.js';
import { generateKeyPair, writeKeyFile, type CurveKeyPair } from '../security/keys.js';
import { sinkTree } from '../supervisor/trees/sink.js';
import { workerTree } from '../supervisor/trees/worker.js';
import type { ChildSpec } from '../supervisor/types.js';
import { echoHandler } from './handler-module.js';
import { meshPictures, type MeshPictures } from './mesh-pictures.js';

const EXAMPLE_BALANCER_CONFIG = fileURLToPath(new URL('../../examples/balancer/config.json', import.meta.url));
const EXAMPLE_KEYWORDS = fileURLToPath(new URL('../../examples/keywords/keywords.json', import.meta.url));
const EXAMPLE_HANDLER = fileURLToPath(new URL('../../examples/handlers/upper.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** A path as a printed command should carry it: relative to where the mesh runs when it is inside, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

interface Ports {
  readonly http: number;
  readonly gatewayZmq: number;
  readonly frontend: number;
  readonly backend: number;
  readonly balancer: number;
  readonly sink: number;
  readonly registry: number;
  readonly firstPair: number;
  readonly lastPair: number;
}

/** The seeds' ports: butler's 5555/5556/5558, Cauldron's 6510 and 6600-6700; the balancer beside the broker. */
const DEFAULT_PORTS: Ports = { http: 8080, gatewayZmq: 5000, frontend: 5555, backend: 5556, balancer: 5557, sink: 5558, registry: 6510, firstPair: 6600, lastPair: 6700 };

/** `--base-port N`: everything in N .. N+49, so several meshes (or tests) can run side by side. */
function portsFrom(base: number): Ports {
  return { http: base + 5, gatewayZmq: base + 6, frontend: base, backend: base + 1, balancer: base + 2, sink: base + 3, registry: base + 4, firstPair: base + 12, lastPair: base + 49 };
}

/** Most brokers `--brokers` runs. */
const MAX_BROKERS = 3;

/**
 * Frontend and backend of broker `k` (0-based): the first on the ports above; with `--brokers N`
 * the others on 5565/5566 and 5575/5576 (or N+7/N+8 and N+9/N+10 with `--base-port N`).
 */
function brokerPorts(ports: Ports, k: number, base: boolean): { frontend: number; backend: number } {
  if (k === 0) return { frontend: ports.frontend, backend: ports.backend };
  return base ? { frontend: ports.frontend + 5 + 2 * k, backend: ports.frontend + 6 + 2 * k } : { frontend: ports.frontend + 10 * k, backend: ports.backend + 10 * k };
}

/**
 * A small local mesh in one process, for trying steward out: one supervisor
 * over a broker, an echo worker and the api.images worker, a sink, and a
 * balancer with the example configuration. `npm start` runs it; with
 * `--curve` every ZeroMQ socket in it is CURVE-encrypted with keys made for the run.
 */
export const meshRole: RoleDefinition = {
  name: 'mesh',
  summary: 'a local mesh in one process for trying things out (what npm start runs)',
  usage: `Usage: steward --role mesh [--base-port N] [--host 127.0.0.1] [--images-root DIR] [--balancer-config FILE] [--curve] [--brokers N]

Starts, under one supervisor: a broker (clients tcp://HOST:${DEFAULT_PORTS.frontend}, workers tcp://HOST:${DEFAULT_PORTS.backend}),
an echo worker, the api.images worker (the pictures in --images-root; by default a
temporary folder with a sample picture, removed on exit; a DIR without pictures gets
a sample.png drawn in it), a sink (tcp://HOST:${DEFAULT_PORTS.sink}), a balancer (tcp://HOST:${DEFAULT_PORTS.balancer}) with
examples/balancer/config.json, a keyword registry (tcp://HOST:${DEFAULT_PORTS.registry}), a dispatcher
for the "thermo" service with examples/keywords/keywords.json, and a gateway (http://HOST:${DEFAULT_PORTS.http},
nodes on tcp://HOST:${DEFAULT_PORTS.gatewayZmq}) in front of an example backend node. Prints what to type to
call each part.
With --base-port N every port is taken from N..N+49 instead.

  --brokers N  run N brokers (1 to ${MAX_BROKERS}; the others on 5565/5566 and 5575/5576,
            or N+7/N+8 and N+9/N+10 with --base-port): every worker registers with
            each, sharing its concurrency between them, and the printed commands
            name every broker, so a client fails over when one goes (docs/deploy.md).

  --curve   CURVE-encrypt every ZeroMQ socket of the mesh (the gateway's HTTP side
            stays plain HTTP). Makes a server key pair and client key pairs in a
            private temporary folder (removed on exit); every server lets in only
            the mesh's own client keys, and the printed commands carry the key
            flags. A client without them gets nothing. (Default: plain TCP.)`,
  options: {
    host: { type: 'string' },
    'base-port': { type: 'string' },
    'images-root': { type: 'string' },
    'balancer-config': { type: 'string' },
    curve: { type: 'boolean' },
    brokers: { type: 'string' },
  },
  // Every endpoint of the mesh is --host and a port from --base-port: a host that is not this machine's, or a taken port.
  endpointFlag: ({ code }) => (code === 'EADDRINUSE' || code === 'EACCES' ? '--base-port' : '--host'),
  async start(ctx) {
    const host = flagString(ctx.flags, 'host') ?? '127.0.0.1';
    const base = flagString(ctx.flags, 'base-port');
    const PORTS = base === undefined ? DEFAULT_PORTS : portsFrom(flagInt(ctx.flags, 'base-port', 0, 1024, 65_000));
    const brokerCount = flagInt(ctx.flags, 'brokers', 1, 1, MAX_BROKERS);
    const brokerEndpoints = Array.from({ length: brokerCount }, (_, k) => brokerPorts(PORTS, k, base !== undefined));
    // Keyword tools find the registry through an INI file; write one when the ports are not the defaults.
    const keywordsConfig = base === undefined ? undefined : writeKeywordsIni(host, PORTS);
    const keywordsIni = keywordsConfig?.file;
    const ep = (port: number) => `tcp://${host}:${port}`;
    const logger = ctx.logger;
    const metrics = ctx.metrics;
    const balancerConfigFile = flagString(ctx.flags, 'balancer-config') ?? EXAMPLE_BALANCER_CONFIG;
    const balancerConfig = await loadBalancerConfig(balancerConfigFile);
    const pictures = await meshPictures(flagString(ctx.flags, 'images-root'), logger);
    const images = new RpcRegistry().register(new ImagesService({ root: pictures.root })).handler();
    const keywords = await loadKeywordsFile(EXAMPLE_KEYWORDS);
    const site = `${host}:${PORTS.http}`;
    const gatewaySettingsForMesh = gatewaySettings({
      bind: [site],
      zmq: ep(PORTS.gatewayZmq),
      vhosts: [{ name: site, nodes: ['web1'], aliases: [`localhost:${PORTS.http}`] }],
    });
    // Made after everything that can refuse the flags, so a refused start leaves no keys behind.
    const keys = flagBool(ctx.flags, 'curve') ? await meshKeys(logger) : undefined;
    const server = keys ? { curve: keys.server } : {};
    const asClient = (curve: CurveClientOptions | undefined) => (curve ? { curve } : {});

    const part = (id: string, logic: ChildSpec['logic']): ChildSpec => ({ id, systemId: id, logic, shutdown: 15_000 });
    const brokerName = (k: number) => (k === 0 ? 'broker' : `broker.${k + 1}`);
    const backends = brokerEndpoints.map((b) => ep(b.backend));
    // The instructions wait for every worker to be registered with every broker: a printed call then finds one.
    const registered = new Map<string, Set<number>>();
    let onAllRegistered: () => void = () => undefined;
    const allRegistered = new Promise<void>((resolve) => (onAllRegistered = resolve));
    const noteRegistered = (worker: string) => (index: number) => {
      const set = registered.get(worker) ?? new Set<number>();
      set.add(index);
      registered.set(worker, set);
      if (registered.size === 2 && [...registered.values()].every((s2) => s2.size === brokerCount)) onAllRegistered();
    };
    // With several brokers, the ones after the first are processes of their own (without --curve, whose server
    // key never touches the disk): a person can kill one and watch nothing stop, and the mesh starts it again.
    const inProcess = (k: number) => k === 0 || keys !== undefined;
    const brokerPart = (b: { frontend: number; backend: number }, k: number): ChildSpec =>
      inProcess(k)
        ? part(brokerName(k), brokerTree({ name: brokerName(k), frontend: ep(b.frontend), backend: ep(b.backend), ...server, logger, metrics }))
        : part(
            brokerName(k),
            childProcess({
              name: brokerName(k),
              command: process.execPath,
              args: [MAIN, '--role', 'broker', '--frontend', ep(b.frontend), '--backend', ep(b.backend), '--parent-watch', '--log-level', 'warn'],
              logger,
            }),
          );
    const children: ChildSpec[] = [
      ...brokerEndpoints.map(brokerPart),
      // The sink's machine logs each event; nobody in this process consumes them otherwise.
      part('sink', sinkTree({ bind: ep(PORTS.sink), deliver: () => undefined, ...server, logger, metrics })),
      part(
        'worker.echo',
        // One slot per broker at least: a worker registers with as many brokers as it has slots.
        workerTree({
          name: 'worker.echo',
          service: 'echo',
          brokers: backends,
          handler: echoHandler,
          credit: brokerCount,
          onRegistered: noteRegistered('echo'),
          ...asClient(keys?.echo),
          logger,
          metrics,
        }),
      ),
      part(
        'worker.images',
        workerTree({
          name: 'worker.images',
          service: 'api.images',
          brokers: backends,
          handler: images,
          credit: 4,
          onRegistered: noteRegistered('images'),
          ...asClient(keys?.images),
          logger,
          metrics,
        }),
      ),
      part('balancer', balancerTree({ bind: ep(PORTS.balancer), config: balancerConfig, ...server, logger, metrics })),
      part(
        'registry',
        registryTree({
          endpoint: ep(PORTS.registry),
          firstPort: PORTS.firstPair,
          lastPort: PORTS.lastPair,
          heartbeatMs: 1000,
          liveness: 3,
          ...server,
          logger,
          metrics,
        }),
      ),
      part(
        'dispatcher.thermo',
        dispatcherTree({
          service: 'thermo',
          definitions: keywords,
          placement: { kind: 'registry', registry: ep(PORTS.registry), host, token: `mesh-${process.pid}`, timeoutMs: 1000, allowSpawn: false },
          // The registry's own pair: it trusts its own key, as a keyword mesh sharing one pair does.
          ...server,
          logger,
          metrics,
        }),
      ),
      part('gateway', gatewayTree({ settings: gatewaySettingsForMesh, ...server, logger, metrics })),
    ];
    const root = createRootActor(supervisor({ name: 'mesh', strategy: 'one_for_one', intensity: 5, period: 60_000, children, logger }), {
      id: 'mesh',
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
    });
    root.start();

    // The example backend behind the gateway: a BlastBeat node, a DEALER named web1.
    const web1 = startExampleNode(ep(PORTS.gatewayZmq), keys?.web1, logger);
    const listening = Promise.all([
      // A broker of its own process is up once every worker registered with it (allRegistered).
      ...brokerEndpoints.flatMap((_, k) => (inProcess(k) ? [once(root.system.get(brokerTreeIds(brokerName(k)).broker), 'broker.listening')] : [])),
      once(root.system.get(balancerTreeIds('balancer').machine), 'balancer.listening'),
      allRegistered,
    ]);
    void listening.then(() => {
      const inspect = flagString(ctx.flags, 'inspect');
      ctx.out.write(instructions(host, PORTS, brokerEndpoints, keywordsIni, inspect === undefined ? undefined : `http://127.0.0.1:${inspect}/`, keys?.files, pictures));
    });
    return {
      root,
      close: async () => {
        await web1.close();
        keys?.remove();
        keywordsConfig?.remove();
        pictures.remove();
      },
    };
  },
};

function startExampleNode(endpoint: string, curve: CurveClientOptions | undefined, logger: Logger): GatewayBackend {
  return GatewayBackend.start({
    endpoint,
    node: 'web1',
    ...(curve ? { curve } : {}),
    logger,
    onRequest: (req) => ({
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: `hello from web1 through the steward gateway: ${req.method} ${req.path}\n`,
    }),
  });
}

function once(actor: AnyActorRef | undefined, type: string): Promise<void> {
  return new Promise((resolve) => {
    if (!actor) return resolve();
    const sub = actor.on(type, () => {
      sub.unsubscribe();
      resolve();
    });
  });
}

/** The keyword tools' config for a mesh on other ports; its folder goes when the mesh stops (or the process exits). */
function writeKeywordsIni(host: string, ports: Ports): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'steward-mesh-'));
  const file = join(dir, 'keywords.ini');
  writeFileSync(file, `[zmq-router]\nhost = ${host}\nport = ${ports.registry}\nfirst-port = ${ports.firstPair}\nlast-port = ${ports.lastPair}\n`);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  return {
    file,
    remove: () => {
      process.off('exit', removeDir);
      removeDir();
    },
  };
}

/** Where `--curve` put the keys a person needs to talk to the mesh. */
interface MeshKeyFiles {
  /** The private folder (0700) holding them, removed when the mesh stops. */
  readonly dir: string;
  /** The servers' public key alone (every server of the mesh shares one pair). */
  readonly serverKey: string;
  /** Pair for the printed clients, show, modify and the Python one-liner. */
  readonly client: string;
  /** Pair for a worker a person starts (the printed worker command). */
  readonly worker: string;
}

interface MeshKeys {
  /** Every server's CURVE: one pair, and the mesh's own client keys as the allow-list. */
  readonly server: CurveServerOptions;
  /** The mesh's own clients, each with its own pair (in memory only). */
  readonly echo: CurveClientOptions;
  readonly images: CurveClientOptions;
  readonly web1: CurveClientOptions;
  readonly files: MeshKeyFiles;
  /** Removes the key folder; safe to call again. */
  remove(): void;
}

/**
 * `--curve`: a server pair and client pairs for one run of the mesh. Only what
 * a person types needs to be a file: the server's public key and two client
 * pairs; the server's secret key and the in-process clients' pairs never
 * touch the disk.
 */
async function meshKeys(logger: Logger): Promise<MeshKeys> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-mesh-keys-'));
  // mkdtemp makes it 0700 already; said again because the secret keys' safety rests on it.
  await chmod(dir, 0o700);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // close() removes the folder; a second Ctrl-C (or a failed start) exits without it, so the exit does.
  process.once('exit', removeDir);
  const server = generateKeyPair();
  const [client, worker, echo, images, web1] = Array.from({ length: 5 }, () => generateKeyPair()) as [CurveKeyPair, CurveKeyPair, CurveKeyPair, CurveKeyPair, CurveKeyPair];
  const files: MeshKeyFiles = { dir, serverKey: join(dir, 'server.pub'), client: join(dir, 'client.key'), worker: join(dir, 'worker.key') };
  // The bare key, as `steward keygen --out server.key > server.pub` hands it out.
  await writeFile(files.serverKey, `${server.publicKey}\n`, { mode: 0o644 });
  await writeKeyFile(files.client, client, { comment: 'steward mesh --curve: the pair of clients, show and modify (removed when the mesh stops)' });
  await writeKeyFile(files.worker, worker, { comment: 'steward mesh --curve: the pair of a worker you start (removed when the mesh stops)' });
  const allow = [client, worker, echo, images, web1].map((p) => p.publicKey);
  const asClient = (pair: CurveKeyPair): CurveClientOptions => ({ serverKey: server.publicKey, secretKey: pair.secretKey, publicKey: pair.publicKey });
  logger.info({ dir, serverKey: server.publicKey, allowed: allow.length }, 'mesh: CURVE on, keys made');
  return {
    server: { secretKey: server.secretKey, publicKey: server.publicKey, allow },
    echo: asClient(echo),
    images: asClient(images),
    web1: asClient(web1),
    files,
    remove: () => {
      process.off('exit', removeDir);
      removeDir();
    },
  };
}

function instructions(
  host: string,
  PORTS: Ports,
  brokerEndpoints: ReadonlyArray<{ frontend: number; backend: number }>,
  keywordsIni: string | undefined,
  inspector: string | undefined,
  keys: MeshKeyFiles | undefined,
  pictures: MeshPictures,
): string {
  const s = `node ${shown(MAIN)}`;
  const c = keywordsIni === undefined ? '' : ` -c ${keywordsIni}`;
  // With CURVE every command names the servers' key and its own pair; without, nothing changes.
  const k = keys === undefined ? '' : ` --curve-server-key ${keys.serverKey} --curve-secret-key-file ${keys.client}`;
  const kw = keys === undefined ? '' : ` --curve-server-key ${keys.serverKey} --curve-secret-key-file ${keys.worker}`;
  const balancer = `tcp://${host}:${PORTS.balancer}`;
  const python =
    keys === undefined
      ? `import zmq,json; s=zmq.Context().socket(zmq.DEALER); s.connect('${balancer}'); s.send(b'{}'); print(s.recv())`
      : `import zmq,zmq.auth; s=zmq.Context().socket(zmq.DEALER); s.curve_serverkey=open('${keys.serverKey}','rb').read().strip(); ` +
        `s.curve_publickey,s.curve_secretkey=zmq.auth.load_certificate('${keys.client}'); s.connect('${balancer}'); s.send(b'{}'); print(s.recv())`;
  const curve =
    keys === undefined
      ? ''
      : `CURVE is on: every ZeroMQ socket is encrypted and lets in only the mesh's own keys, kept in
${keys.dir} (server.pub: the servers' public key; client.key, worker.key: pairs for
your commands; removed when the mesh stops). A command without the key flags gets no answer.
`;
  const sinkCurve = keys === undefined ? '' : ` (a worker adds --sink tcp://${host}:${PORTS.sink} --curve-sink-key ${keys.serverKey})`;
  // Every broker, so clients fail over between them and a worker registers with each.
  const fe = brokerEndpoints.map((b) => `--broker tcp://${host}:${b.frontend}`).join(' ');
  const be = brokerEndpoints.map((b) => `--broker tcp://${host}:${b.backend}`).join(' ');
  const several =
    brokerEndpoints.length === 1
      ? ''
      : `${brokerEndpoints.length} brokers (clients on ${brokerEndpoints.map((b) => b.frontend).join(', ')}, workers on ${brokerEndpoints.map((b) => b.backend).join(', ')}):
every worker is registered with each, and the commands above name them all, so a client
sends to whichever answers and retries elsewhere when one goes (docs/deploy.md).${
          keys === undefined
            ? `
Kill one and watch nothing stop (the mesh starts it again after a moment):

  pkill -f -- '--frontend tcp://${host}:${(brokerEndpoints[1] as { frontend: number }).frontend}'
`
            : ''
        }
`;
  return `
steward mesh is running. In another terminal:

  ${s} --role client ${fe} --call echo hello${k}
  ${s} --role client ${fe} --mmi api.images${k}
  ${s} --role client ${fe} --rpc api.images info ${pictures.picture}${k}
  ${s} --role client ${fe} --rpc api.images resize_image ${pictures.picture} 160x100${k}
  ${s} --role client ${fe} --stream --rpc api.images resize_images 64x48 ${pictures.picture}${k}
  ${s} --role client ${fe} --call mmi.services${k}
  /usr/bin/python3 -c "${python}"
  ${s} --role show -s thermo${c} TEMP MODE${k}
  ${s} --role modify -s thermo${c} SETPOINT=22.5${k}
  ${s} --role show -s thermo${c} --monitor SETPOINT${k}
  curl http://${host}:${PORTS.http}/hello

A service of your own (${shown(EXAMPLE_HANDLER)} upper-cases each request): start its worker, then call it:

  ${s} --role worker ${be} --service upper --handler ${shown(EXAMPLE_HANDLER)}${kw}
  ${s} --role client ${fe} --call upper hello${k}

Pictures (api.images): ${pictures.root}${pictures.temporary ? ` (${pictures.picture} drawn for this run; removed when the mesh stops)` : ''}.
${several}${curve}${inspector === undefined ? '' : `Inspector (the live supervision tree, offline): ${inspector}\n`}Sink (worker events): tcp://${host}:${PORTS.sink}${sinkCurve}. Stop with Ctrl-C.
`;
}
