import { DEFAULT_FRONTEND } from '../api/broker.js';
import { Client } from '../api/client.js';
import { UsageError } from '../cli/errors.js';
import { flagInt, flagList, flagString, type RoleDefinition } from '../cli/role.js';

export const clientRole: RoleDefinition = {
  name: 'client',
  summary: 'call a service once from the shell and print the reply',
  usage: `Usage: steward --role client --call SERVICE [BODY...] [--broker ENDPOINT]... [flags]
       steward --role client --mmi SERVICE

Sends one request (each BODY argument is one frame) and prints the reply,
one frame per line. Exits 0 on a reply, 1 on a timeout or broker error.

Flags:
  --call SERVICE          the service to call
  --mmi SERVICE           ask the broker whether SERVICE has a worker (prints 200 or 404)
  --broker ENDPOINT       a broker frontend, repeatable (default ${DEFAULT_FRONTEND})
  --timeout MS            per attempt (default 2500)
  --retries N             further attempts (default 2)

Examples:
  steward --role client --call echo hello world
  steward --role client --mmi echo`,
  allowPositionals: true,
  options: {
    call: { type: 'string' },
    mmi: { type: 'string' },
    broker: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    retries: { type: 'string' },
  },
  async start(ctx) {
    const { flags } = ctx;
    const call = flagString(flags, 'call');
    const mmi = flagString(flags, 'mmi');
    if ((call === undefined) === (mmi === undefined)) {
      throw new UsageError('give either --call SERVICE [BODY...] or --mmi SERVICE', 'steward --role client --call echo hello');
    }
    if (mmi !== undefined && ctx.positionals.length > 0) throw new UsageError('--mmi takes no body', `steward --role client --mmi ${mmi}`);
    const brokers = flagList(flags, 'broker');
    const client = new Client({
      broker: brokers.length > 0 ? brokers : [DEFAULT_FRONTEND],
      timeout: flagInt(flags, 'timeout', 2500, 1, 3_600_000),
      retries: flagInt(flags, 'retries', 2, 0, 1000),
      logger: ctx.logger,
    });
    const done = (async () => {
      try {
        const reply = call !== undefined ? await client.call(call, [...ctx.positionals]) : await client.call('mmi.service', [mmi as string]);
        for (const frame of reply) ctx.out.write(`${frame.toString()}\n`);
        return 0;
      } catch (error) {
        ctx.logger.debug({ err: error }, 'call failed');
        process.stderr.write(`steward: ${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
      } finally {
        client.close();
      }
    })();
    return { done };
  },
};
