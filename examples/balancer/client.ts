/**
 * Asks a balancer for a backend, as a stirr client would.
 *
 *   steward --role balancer -c examples/balancer/config.json --bind tcp://127.0.0.1:5557
 *   node dist-bench/examples/balancer/client.js tcp://127.0.0.1:5557 default Base Weighted
 *
 * (build with `npx tsc -p tsconfig.bench.json`.)
 */
import { BalancerClient, BalancerError } from '../../src/api/balancer.js';

const [endpoint = 'tcp://127.0.0.1:5555', group = 'default', type = 'Base', algorithm = 'Casual'] = process.argv.slice(2);

const client = new BalancerClient({ endpoint, timeoutMs: 2_500 });
try {
  const configuration = await client.get({ group, type, algorithm });
  process.stdout.write(`${JSON.stringify(configuration)}\n`);
} catch (error) {
  if (!(error instanceof BalancerError)) throw error;
  // `reason` is stable (unknown_group, all_down, timeout ...); the message is for people.
  process.stderr.write(`no backend: ${error.reason}: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
