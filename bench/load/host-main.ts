/**
 * A child process holding part of the fleet (`ChildHost`): answers the
 * driver's commands over IPC and exits when told to stop or when the driver
 * goes away.
 */
import type { HostCommand, HostReply } from './hosts.js';
import { InProcessHost } from './hosts.js';

const host = new InProcessHost(process.argv[2] ?? `host-${process.pid}`);
const reply = (message: HostReply) => process.send?.(message);

async function handle(command: HostCommand): Promise<void> {
  switch (command.type) {
    case 'workers':
      await host.startWorkers(command.options);
      reply({ type: 'started', count: command.options.count });
      return;
    case 'clients':
      await host.startClients(command.options);
      reply({ type: 'started', count: host.clientCount });
      return;
    case 'run':
      reply({ type: 'result', result: await host.run(command.phase) });
      return;
    case 'stop':
      await host.stop();
      reply({ type: 'stopped' });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 100).unref();
      return;
  }
}

process.on('message', (command: HostCommand) => {
  handle(command).catch((error: unknown) => reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
});
// The driver died: nobody will ever stop us.
process.on('disconnect', () => {
  void host.stop().finally(() => process.exit(0));
});
