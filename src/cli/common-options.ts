import type { OptionSpec } from './role.js';

/** Flags every role takes. */
export const commonOptions: OptionSpec = {
  role: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  'log-level': { type: 'string' },
  debug: { type: 'boolean', short: 'd' },
  inspect: { type: 'string' },
  'inspect-stately': { type: 'string' },
  metrics: { type: 'string' },
  'parent-watch': { type: 'boolean' },
};

export const commonUsage = `Common flags:
  --log-level LEVEL     trace, debug, info (default), warn, error, fatal, silent
  -d, --debug           same as --log-level debug
  --inspect [PORT]      serve the live actor inspector on 127.0.0.1:PORT (default 7777)
  --inspect-stately URL stream actors to a Stately inspector WebSocket
  --metrics PORT        serve Prometheus metrics on 127.0.0.1:PORT
  --parent-watch        shut down when stdin closes (set by a process that spawned this one:
                        its end, however it died, ends this role too)
  -h, --help            this help
  --version             print the version`;
