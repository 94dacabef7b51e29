import { UsageError } from '../errors.js';
import type { RoleDefinition } from '../role.js';
import { flagBool, flagList } from '../flags.js';
import { isValidName } from '../../protocol/ktl-types.js';
import type { ConnectionEvent } from '../../api/keywords/index.js';
import { clientFor, clientOptions, keywordsCurveUsage, keywordsEndpointFlag, reportFailure } from '../keywords-client.js';
import { line, printBinary, printable } from '../keywords-print.js';

export const showRole: RoleDefinition = {
  name: 'show',
  summary: 'print keyword values, or each broadcast of one with --monitor (KTL show)',
  usage: `Usage: steward --role show -s SERVICE [KEYWORD...] [--binary] [-c CONFIG]
       steward --role show -s SERVICE --monitor KEYWORD [--monitor KEYWORD...]

Prints "KEYWORD = VALUE" per keyword (every keyword of the service when none is
named). Control characters and bytes that are not UTF-8 print escaped (\\n, \\xNN).
With --monitor, prints each broadcast of the keyword, in order, until interrupted
(Ctrl-C exits 0). Exit code 1 if any keyword could not be read.

Flags:
  -s, --service NAME    the service
  --monitor KEYWORD     print each change of KEYWORD (repeatable)
  --binary              print the binary form (enumerator index, 1/0 ...) instead of the ascii one
  -c, --config FILE     INI file: where the registry is ([zmq-router]) or the dispatcher ([zmq])
  --timeout MS          per request (default: [zmq-router] timeout, 1000)
${keywordsCurveUsage}

Examples:
  steward --role show -s thermo TEMP MODE
  steward --role show -s thermo --monitor TEMP`,
  options: {
    ...clientOptions,
    monitor: { type: 'string', multiple: true },
    binary: { type: 'boolean' },
  },
  allowPositionals: true,
  endpointFlag: keywordsEndpointFlag,
  async start(ctx) {
    const monitored = flagList(ctx.flags, 'monitor');
    for (const name of [...ctx.positionals, ...monitored]) {
      if (!isValidName(name)) throw new UsageError(`"${name}" is not a keyword name`, 'steward --role show -s SERVICE KEYWORD');
    }
    const { client, service } = await clientFor(ctx, 'show');
    const svc = client.service(service);
    const binary = flagBool(ctx.flags, 'binary');
    const close = async () => client.close();

    if (monitored.length > 0) {
      if (ctx.positionals.length > 0) throw new UsageError('name keywords either to show or with --monitor, not both', `steward --role show -s ${service} --monitor ${monitored[0]}`);
      // Once per service, not per keyword: one broadcast link carries them all.
      const onConnection = (e: ConnectionEvent) => {
        const text = e.state === 'lost' ? `lost the broadcasts at ${e.endpoint}; waiting for the dispatcher to return` : `broadcasts flow again from ${e.endpoint}`;
        process.stderr.write(`steward: ${service}: ${text}\n`);
        ctx.logger.warn({ service, state: e.state, endpoint: e.endpoint }, e.state === 'lost' ? 'broadcasts lost' : 'broadcasts restored');
      };
      const done = (async () => {
        for (const [i, name] of monitored.entries()) {
          try {
            await svc
              .keyword(name)
              .monitor((u) => ctx.out.write(line(u.keyword, binary ? printBinary(u.binary) : printable(u.bytes))), i === 0 ? { onConnection } : {});
          } catch (error) {
            reportFailure(service, name, error);
            return 1;
          }
        }
        ctx.logger.info({ service, keywords: monitored }, 'monitoring');
        // Runs until a signal; the runtime then closes the client (exit 0).
        return new Promise<number>(() => undefined);
      })();
      return { done, close };
    }

    const done = (async () => {
      let names: string[];
      try {
        names = ctx.positionals.length > 0 ? [...ctx.positionals] : await svc.enumerate();
      } catch (error) {
        reportFailure(service, '*', error);
        return 1;
      }
      let code = 0;
      for (const name of names) {
        try {
          const kw = svc.keyword(name);
          const text = binary ? printBinary(await kw.read({ binary: true })) : printable(await kw.readBytes());
          ctx.out.write(line(name, text));
        } catch (error) {
          reportFailure(service, name, error);
          code = 1;
        }
      }
      return code;
    })();
    return { done, close };
  },
};
