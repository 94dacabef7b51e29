import { UsageError } from '../errors.js';
import type { RoleDefinition } from '../role.js';
import { flagBool } from '../flags.js';
import { isValidName } from '../../protocol/ktl-types.js';
import { clientFor, clientOptions, keywordsCurveUsage, keywordsEndpointFlag, reportFailure } from '../keywords-client.js';
import { line, printable } from '../keywords-print.js';

/** `KEYWORD=VALUE`, split at the first '=': the value may hold '=' and ':'. */
export function parseAssignment(arg: string): { name: string; value: string } {
  const at = arg.indexOf('=');
  const name = at < 0 ? arg : arg.slice(0, at);
  if (at < 0 || !isValidName(name)) throw new UsageError(`"${arg}" is not KEYWORD=VALUE`, 'steward --role modify -s SERVICE TEMP=21.5');
  return { name, value: arg.slice(at + 1) };
}

export const modifyRole: RoleDefinition = {
  name: 'modify',
  summary: 'write keyword values and print what the dispatcher holds afterwards (KTL modify)',
  usage: `Usage: steward --role modify -s SERVICE KEYWORD=VALUE... [--nowait] [-c CONFIG]

Writes each value (split at the first '=', so a value may contain '=' and ':'),
in order, and prints "KEYWORD = VALUE" with the value the dispatcher now holds.
The dispatcher validates each value against the keyword's type. Exit code 1 if
any write was refused or not answered.

Flags:
  -s, --service NAME    the service
  --nowait              send the writes without waiting for the dispatcher's answer
  -c, --config FILE     INI file: where the registry is ([zmq-router]) or the dispatcher ([zmq])
  --timeout MS          per request (default: [zmq-router] timeout, 1000)
${keywordsCurveUsage}

Example:
  steward --role modify -s thermo TEMP=21.5 MODE=Auto`,
  options: { ...clientOptions, nowait: { type: 'boolean' } },
  allowPositionals: true,
  endpointFlag: keywordsEndpointFlag,
  async start(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('name at least one KEYWORD=VALUE', 'steward --role modify -s SERVICE TEMP=21.5');
    const assignments = ctx.positionals.map(parseAssignment);
    const { client, service } = await clientFor(ctx, 'modify');
    const svc = client.service(service);
    const wait = !flagBool(ctx.flags, 'nowait');
    const done = (async () => {
      let code = 0;
      for (const { name, value } of assignments) {
        try {
          const kw = svc.keyword(name);
          if (!wait) {
            await kw.write(value, { wait: false });
            continue;
          }
          ctx.out.write(line(name, printable(await kw.writeBytes(value))));
        } catch (error) {
          reportFailure(service, name, error);
          code = 1;
        }
      }
      return code;
    })();
    return { done, close: async () => client.close() };
  },
};
