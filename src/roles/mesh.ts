import { fileURLToPath } from 'node:url';
import type { AnyActorRef } from 'xstate';
import { createRootActor } from '../api/runtime-options.js';
import { RpcRegistry } from '../api/rpc-registry.js';
import { flagString, type RoleDefinition } from '../cli/role.js';
import { loadBalancerConfig } from '../config/balancer-config.js';
import { ImagesService } from '../services/images.js';
import { supervisor } from '../supervisor/supervisor.js';
import { balancerTree, balancerTreeIds } from '../supervisor/trees/balancer.js';
import { brokerTree, brokerTreeIds } from '../supervisor/trees/broker.js';
import { sinkTree } from '../supervisor/trees/sink.js';
import { workerTree } from '../supervisor/trees/worker.js';
import type { ChildSpec } from '../supervisor/types.js';
import { echoHandler } from './handler-module.js';

const EXAMPLE_BALANCER_CONFIG = fileURLToPath(new URL('../../examples/balancer/config.json', import.meta.url));

const PORTS = { frontend: 5555, backend: 5556, balancer: 5557, sink: 5558 } as const;

/**
 * A small local mesh in one process, for trying steward out: one supervisor
 * over a broker, an echo worker and the api.images worker, a sink, and a
 * balancer with the example configuration. `npm start` runs it.
 */
export const meshRole: RoleDefinition = {
  name: 'mesh',
  summary: 'a local mesh in one process for trying things out (what npm start runs)',
  usage: `Usage: steward --role mesh [--host 127.0.0.1] [--images-root DIR] [--balancer-config FILE]

Starts, under one supervisor: a broker (clients tcp://HOST:${PORTS.frontend}, workers tcp://HOST:${PORTS.backend}),
an echo worker, the api.images worker (files under --images-root, default the current
directory), a sink (tcp://HOST:${PORTS.sink}), and a balancer (tcp://HOST:${PORTS.balancer}) with
examples/balancer/config.json. Prints what to type to call each part.`,
  options: {
    host: { type: 'string' },
    'images-root': { type: 'string' },
    'balancer-config': { type: 'string' },
  },
  async start(ctx) {
    const host = flagString(ctx.flags, 'host') ?? '127.0.0.1';
    const ep = (port: number) => `tcp://${host}:${port}`;
    const logger = ctx.logger;
    const metrics = ctx.metrics;
    const balancerConfigFile = flagString(ctx.flags, 'balancer-config') ?? EXAMPLE_BALANCER_CONFIG;
    const balancerConfig = await loadBalancerConfig(balancerConfigFile);
    const imagesRoot = flagString(ctx.flags, 'images-root') ?? '.';
    const images = new RpcRegistry().register(new ImagesService({ root: imagesRoot })).handler();

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
    ];
    const root = createRootActor(supervisor({ name: 'mesh', strategy: 'one_for_one', intensity: 5, period: 60_000, children, logger }), {
      id: 'mesh',
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
    });
    root.start();

    const listening = Promise.all([
      once(root.system.get(brokerTreeIds('broker').broker), 'broker.listening'),
      once(root.system.get(balancerTreeIds('balancer').machine), 'balancer.listening'),
    ]);
    void listening.then(() => {
      ctx.out.write(instructions(host));
    });
    return { root };
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

function instructions(host: string): string {
  const s = 'node dist/main.js';
  return `
steward mesh is running. In another terminal:

  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --call echo hello
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --mmi api.images
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --rpc api.images info some-picture.png
  ${s} --role worker --broker tcp://${host}:${PORTS.backend} --service upper --handler ./my-handler.js
  ${s} --role client --broker tcp://${host}:${PORTS.frontend} --call mmi.services
  /usr/bin/python3 -c "import zmq,json; s=zmq.Context().socket(zmq.DEALER); s.connect('tcp://${host}:${PORTS.balancer}'); s.send(b'{}'); print(s.recv())"

Sink (worker events): tcp://${host}:${PORTS.sink}. Stop with Ctrl-C.
`;
}
