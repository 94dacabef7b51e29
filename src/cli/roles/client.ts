import { DEFAULT_FRONTEND } from '../../api/broker.js';
import { Client, DEFAULT_STREAM_WINDOW } from '../../api/client.js';
import { RemoteError } from '../../api/errors.js';
import { UsageError } from '../errors.js';
import { transportFlag } from '../transport-flag.js';
import type { RoleDefinition } from '../role.js';
import { flagBool, flagInt, flagList, flagString } from '../flags.js';
import { parseJson, type JsonValue } from '../../protocol/json.js';
import { MAX_WINDOW } from '../../protocol/steward-wire.js';
import { curveClientFlags, curveClientFromFlags, curveClientUsage } from '../curve-flags.js';
import { assertEndpoint, assertResolvable } from '../../actors/endpoint-error.js';

/** A shell argument as an RPC argument: JSON when it parses (42, true, {"a":1}, "quoted"), else the string itself. */
export function parseArgument(text: string): JsonValue {
  const parsed = parseJson(text, { maxBytes: 1024 * 1024, maxDepth: 32 });
  return parsed.ok ? parsed.value : text;
}

type Job = { kind: 'call'; service: string } | { kind: 'mmi'; service: string } | { kind: 'rpc'; service: string; method: string; args: JsonValue[] };

function chooseJob(call: string | undefined, mmi: string | undefined, rpc: string | undefined, positionals: readonly string[]): Job {
  const given = [call, mmi, rpc].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new UsageError('give one of --call SERVICE [BODY...], --rpc SERVICE METHOD [ARGS...] or --mmi SERVICE', 'steward --role client --call echo hello');
  }
  if (call !== undefined) return { kind: 'call', service: call };
  if (mmi !== undefined) {
    if (positionals.length > 0) throw new UsageError('--mmi takes no body', `steward --role client --mmi ${mmi}`);
    return { kind: 'mmi', service: mmi };
  }
  const [method, ...args] = positionals;
  if (method === undefined) throw new UsageError('--rpc needs a method name after the service', `steward --role client --rpc ${rpc as string} info a.png`);
  return { kind: 'rpc', service: rpc as string, method, args: args.map(parseArgument) };
}

function describeFailure(error: unknown): string {
  if (error instanceof RemoteError) return `${error.service}.${error.method ?? '?'} raised ${error.remoteName}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export const clientRole: RoleDefinition = {
  name: 'client',
  summary: 'call a service once from the shell and print the reply',
  usage: `Usage: steward --role client --call SERVICE [BODY...] [--broker ENDPOINT]... [flags]
       steward --role client --rpc SERVICE METHOD [ARGS...]
       steward --role client --stream --call SERVICE [BODY...]
       steward --role client --stream --rpc SERVICE METHOD [ARGS...]
       steward --role client --mmi SERVICE

--call sends one request (each BODY argument is one frame) and prints the
reply, one frame per line. --rpc calls METHOD of a butler RPC service with the
ARGS (each parsed as JSON when it parses, else taken as a string: 42 is a
number, '"42"' a string) and prints the result as JSON. Exits 0 on a reply, 1
on a timeout, a broker error or a remote exception (printed to stderr).

--stream reads the answer as the worker makes it: one line per partial reply
as it arrives, then one for the final reply (--call: a part's frames on one
line, separated by spaces; --rpc: each value as JSON). A worker that does not
stream answers with the final line alone. Ctrl-C cancels the call at the
broker and the worker.

With several --broker, the client pings each, sends to a live one, and retries
a timed-out attempt on another. When a broker has no worker for the service it
says so at once and the client asks the others; when none has one it exits 1
with "no worker serves SERVICE", unless --wait-for-worker (then the call waits
in a broker's queue for a worker, up to its timeout).

Flags:
  --call SERVICE          the service to call
  --rpc SERVICE           the RPC service to call; METHOD and ARGS follow
  --mmi SERVICE           ask the broker whether SERVICE has a worker (prints 200 or 404)
  --stream                with --call or --rpc: print partial replies as they come
  --window N              with --stream: partial replies the broker may send ahead of
                          this reader (default ${DEFAULT_STREAM_WINDOW}, 1 to ${MAX_WINDOW})
  --broker ENDPOINT       a broker frontend, repeatable (default ${DEFAULT_FRONTEND})
  --timeout MS            per attempt (default 2500)
  --retries N             further attempts (default 2)
  --wait-for-worker       wait in the queue for a worker to register instead of
                          failing at once when none serves the service
  --heartbeat MS          how often each broker is pinged (default 1000)
  --transport auto|libzmq the ZeroMQ stack on the sockets to the brokers: auto (default) speaks
                          ZMTP 3.1 itself over node's net to plain tcp:// and ipc:// brokers,
                          libzmq with CURVE and for the rest; libzmq uses libzmq always
${curveClientUsage}

Examples:
  steward --role client --call echo hello world
  steward --role client --rpc api.images resize_image a.png 150x180
  steward --role client --rpc api.images info a.png
  steward --role client --stream --rpc api.images resize_images 150x180 a.png b.png
  steward --role client --mmi echo`,
  allowPositionals: true,
  options: {
    call: { type: 'string' },
    rpc: { type: 'string' },
    mmi: { type: 'string' },
    stream: { type: 'boolean' },
    window: { type: 'string' },
    broker: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    retries: { type: 'string' },
    'wait-for-worker': { type: 'boolean' },
    heartbeat: { type: 'string' },
    transport: { type: 'string' },
    ...curveClientFlags,
  },
  endpointFlag: () => '--broker',
  async start(ctx) {
    const { flags } = ctx;
    const job = chooseJob(flagString(flags, 'call'), flagString(flags, 'mmi'), flagString(flags, 'rpc'), ctx.positionals);
    const stream = flagBool(flags, 'stream');
    if (stream && job.kind === 'mmi') throw new UsageError('--stream goes with --call or --rpc, not --mmi', 'steward --role client --stream --call SERVICE BODY');
    if (!stream && flagString(flags, 'window') !== undefined) throw new UsageError('--window goes with --stream', 'steward --role client --stream --window 4 --call SERVICE BODY');
    const window = flagInt(flags, 'window', DEFAULT_STREAM_WINDOW, 1, MAX_WINDOW);
    const given = flagList(flags, 'broker');
    const brokers = given.length > 0 ? given : [DEFAULT_FRONTEND];
    // A bad endpoint or a host that does not exist would otherwise cost every retry's timeout, then say only "no reply".
    for (const endpoint of brokers) {
      assertEndpoint('client', 'connect', endpoint);
      await assertResolvable('client', endpoint);
    }
    const curve = await curveClientFromFlags(flags, ctx.logger);
    const client = new Client({
      broker: brokers,
      timeout: flagInt(flags, 'timeout', 2500, 1, 3_600_000),
      retries: flagInt(flags, 'retries', 2, 0, 1000),
      waitForWorker: flagBool(flags, 'wait-for-worker'),
      heartbeat: flagInt(flags, 'heartbeat', 1000, 10, 3_600_000),
      transport: transportFlag(flagString(flags, 'transport')),
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
    });
    // Ctrl-C while a call runs cancels it at the broker and the worker, then the client closes.
    const cancel = new AbortController();
    const done = (async () => {
      try {
        if (stream && job.kind === 'rpc') {
          for await (const part of client.invokeStream(job.service, job.method, job.args, {}, { window, signal: cancel.signal })) {
            ctx.out.write(`${JSON.stringify(part.value)}\n`);
          }
          return 0;
        }
        if (stream && job.kind === 'call') {
          for await (const part of client.stream(job.service, [...ctx.positionals], { window, signal: cancel.signal })) {
            ctx.out.write(`${part.body.map((f) => f.toString()).join(' ')}\n`);
          }
          return 0;
        }
        if (job.kind === 'rpc') {
          const result = await client.invoke(job.service, job.method, job.args);
          ctx.out.write(`${JSON.stringify(result)}\n`);
          return 0;
        }
        const reply = job.kind === 'call' ? await client.call(job.service, [...ctx.positionals]) : await client.call('mmi.service', [job.service]);
        for (const frame of reply) ctx.out.write(`${frame.toString()}\n`);
        return 0;
      } catch (error) {
        ctx.logger.debug({ err: error }, 'call failed');
        process.stderr.write(`steward: ${describeFailure(error)}\n`);
        return 1;
      } finally {
        client.close();
      }
    })();
    return {
      done,
      close: async () => {
        cancel.abort(new Error('interrupted'));
        await done;
      },
    };
  },
};
