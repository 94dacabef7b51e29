import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyActorRef } from 'xstate';
import { createRootActor } from '../api/runtime-options.js';
import { RpcRegistry } from '../api/rpc-registry.js';
import { flagInt, flagString, type RoleDefinition } from '../cli/role.js';
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
import { sinkTree } from '../supervisor/trees/sink.js';
import { workerTree } from '../supervisor/trees/worker.js';
import type { ChildSpec } from '../supervisor/types.js';
import { echoHandler } from './handler-module.js';

const EXAMPLE_BALANCER_CONFIG = fileURLToPath(new URL('../../examples/balancer/config.json', import.meta.url));
const EXAMPLE_KEYWORDS = fileURLToPath(new URL('../../examples/keywords/keywords.json', import.meta.url));

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
  return { http: base + 5, gatewayZmq: base + 6, frontend: base, backend: base + 1, balancer: base + 2, sink: base + 3, registry: base + 4, firstPair: base + 10, lastPair: base + 49 };
}

/**
 * A small local mesh in one process, for trying steward out: one supervisor
 * over a broker, an echo worker and the api.images worker, a sink, and a
 * balancer with the example configuration. `npm start` runs it.
 */
export const meshRole: RoleDefinition = {
  name: 'mesh',
  summary: 'a local mesh in one process for trying things out (what npm start runs)',
  usage: `Usage: steward --role mesh [--base-port N] [--host 127.0.0.1] [--images-root DIR] [--balancer-config FILE]

Starts, under one supervisor: a broker (clients tcp://HOST:${DEFAULT_PORTS.frontend}, workers tcp://HOST:${DEFAULT_PORTS.backend}),
an echo worker, the api.images worker (files under --images-root, default the current
directory), a sink (tcp://HOST:${DEFAULT_PORTS.sink}), a balancer (tcp://HOST:${DEFAULT_PORTS.balancer}) with
examples/balancer/config.json, a keyword registry (tcp://HOST:${DEFAULT_PORTS.registry}), a dispatcher
for the "thermo" service with examples/keywords/keywords.json, and a gateway (http://HOST:${DEFAULT_PORTS.http},
nodes on tcp://HOST:${DEFAULT_PORTS.gatewayZmq}) in front of an example backend node. Prints what to type to
call each part.
With --base-port N every port is taken from N..N+49 instead.`,
  options: {
    host: { type: 'string' },
    'base-port': { type: 'string' },
    'images-root': { type: 'string' },
    'balancer-config': { type: 'string' },
  },
  async start(ctx) {
    const host = flagString(ctx.flags, 'host') ?? '127.0.0.1';
    const base = flagString(ctx.flags, 'base-port');
    const PORTS = base === undefined ? DEFAULT_PORTS : portsFrom(flagInt(ctx.flags, 'base-port', 0, 1024, 65_000));
    // Keyword tools find the registry through an INI file; write one when the ports are not the defaults.
    const keywordsIni = base === undefined ? undefined : writeKeywordsIni(host, PORTS);
    const ep = (port: number) => `tcp://${host}:${port}`;
    const logger = ctx.logger;
    const metrics = ctx.metrics;
    const balancerConfigFile = flagString(ctx.flags, 'balancer-config') ?? EXAMPLE_BALANCER_CONFIG;
    const balancerConfig = await loadBalancerConfig(balancerConfigFile);
    const imagesRoot = flagString(ctx.flags, 'images-root') ?? '.';
    const images = new RpcRegistry().register(new ImagesService({ root: imagesRoot })).handler();
    const keywords = await loadKeywordsFile(EXAMPLE_KEYWORDS);
    const site = `${host}:${PORTS.http}`;
    const gatewaySettingsForMesh = gatewaySettings({
      bind: [site],
      zmq: ep(PORTS.gatewayZmq),
      vhosts: [{ name: site, nodes: ['web1'], aliases: [`localhost:${PORTS.http}`] }],
    });

    const part = (id: string, logic: ChildSpec['logic']): ChildSpec => ({ id, systemId: id, logic, shutdown: 15_000 });
    const children: ChildSpec[] = [
      part('broker', brokerTree({ frontend: ep(PORTS.frontend), backend: ep(PORTS.backend), logger, metrics })),
      // The sink's machine logs each event; nobody in this process consumes them otherwise.
      part('sink', sinkTree({ bind: ep(PORTS.sink), deliver: () => undefined, logger, metrics })),
      part('worker.echo', workerTree({ name: 'worker.echo', service: 'echo', brokers: [ep(PORTS.backend)], handler: echoHandler, logger, metrics })),
      part(
        'worker.images',
        workerTree({ name: 'worker.images', service: 'api.images', brokers: [ep(PORTS.backend)], handler: images, credit: 4, logger, metrics }),
      ),
      part('balancer', balancerTree({ bind: ep(PORTS.balancer), config: balancerConfig, logger, metrics })),
      part(
        'registry',
        registryTree({ endpoint: ep(PORTS.registry), firstPort: PORTS.firstPair, lastPort: PORTS.lastPair, heartbeatMs: 1000, liveness: 3, logger, metrics }),
      ),
      part(
        'dispatcher.thermo',
        dispatcherTree({
          service: 'thermo',
          definitions: keywords,
          placement: { kind: 'registry', registry: ep(PORTS.registry), host, token: `mesh-${process.pid}`, timeoutMs: 1000, allowSpawn: false },
          logger,
          metrics,
        }),
      ),
      part('gateway', gatewayTree({ settings: gatewaySettingsForMesh, logger, metrics })),
    ];
    const root = createRootActor(supervisor({ name: 'mesh', strategy: 'one_for_one', intensity: 5, period: 60_000, children, logger }), {
      id: 'mesh',
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
    });
    root.start();

    // The example backend behind the gateway: a BlastBeat node, a DEALER named web1.
    const web1 = GatewayBackend.start({
      endpoint: ep(PORTS.gatewayZmq),
      node: 'web1',
      logger,
      onRequest: (req) => ({
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: `hello from web1 through the steward gateway: ${req.method} ${req.path}\n`,
      }),
    });
    const listening = Promise.all([
      once(root.system.get(brokerTreeIds('broker').broker), 'broker.listening'),
      once(root.system.get(balancerTreeIds('balancer').machine), 'balancer.listening'),
    ]);
    void listening.then(() => {
      const inspect = flagString(ctx.flags, 'inspect');
      ctx.out.write(instructions(host, PORTS, keywordsIni, inspect === undefined ? undefined : `http://127.0.0.1:${inspect}/`));
    });
    return { root, close: async () => web1.close() };
  },
};

function once(actor: AnyActorRef | undefined, type: string): Promise<void> {
  return new Promise((resolve) => {
    if (!actor) return resolve();
    const sub = actor.on(type, () => {
      sub.unsubscribe();
      resolve();
    });
  });
}

function writeKeywordsIni(host: string, ports: Ports): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-mesh-'));
  const file = join(dir, 'keywords.ini');
  writeFileSync(file, `[zmq-router]\nhost = ${host}\nport = ${ports.registry}\nfirst-port = ${ports.firstPair}\nlast-port = ${ports.lastPair}\n`);
  return file;
}

function instructions(host: string, PORTS: Ports, keywordsIni: string | undefined, inspector: string | undefined): string {
  const s = 'node dist/main.js';
  const c = keywordsIni === undefined ? '' : ` -c ${keywordsIni}`;
  return `
steward mesh is running. In another terminal:

  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --call echo hello
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --mmi api.images
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --rpc api.images info some-picture.png
  ${s} --role worker --broker tcp://${host}:${PORTS.backend} --service upper --handler ./my-handler.js
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --call mmi.services
  /usr/bin/python3 -c "import zmq,json; s=zmq.Context().socket(zmq.DEALER); s.connect('tcp://${host}:${PORTS.balancer}'); s.send(b'{}'); print(s.recv())"
  ${s} --role show -s thermo${c} TEMP MODE
  ${s} --role modify -s thermo${c} SETPOINT=22.5
  ${s} --role show -s thermo${c} --monitor SETPOINT
  curl http://${host}:${PORTS.http}/hello

${inspector === undefined ? '' : `Inspector (the live supervision tree, offline): ${inspector}\n`}Sink (worker events): tcp://${host}:${PORTS.sink}. Stop with Ctrl-C.
`;
}
