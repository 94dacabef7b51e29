import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { Balancer } from '../../src/api/balancer.js';
import { ConfigDir } from '../helpers/balancer.js';
import { ANY, receiveWithin } from '../helpers/zmq.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('./stirr_client.py', import.meta.url));

// Deterministic answers: one backend per pool, RoundRobin where a pool has two.
const BACKENDS = [
  'a stirr-style file, comments and all',
  { type: 'Base', configuration: { dsn: 'mysql://web-1' } },
  { group: 'db', type: ['MySQL', 'root', ''], heartbeat: 5, configuration: { host: '127.0.0.1', port: 3306, name: 'main' } },
  { group: 'rr', type: 'Base', configuration: 'first' },
  { group: 'rr', type: 'Base', configuration: 'second' },
];

const REQUESTS = [
  '{"group": "default", "type": "Base", "algorithm": "Casual", "args": []}',
  '{}',
  '{"algorithm": "Weighted"}',
  '{"group": "rr", "algorithm": "RoundRobin"}',
  '{"group": "rr", "algorithm": "RoundRobin"}',
  '{"group": "nope"}',
  '{"type": "Oracle"}',
  '{"algorithm": "Fastest"}',
  'not json at all',
  '[1, 2]',
  '{"group": 7}',
];

describe('a Python stirr client (python3-zmq DEALER)', () => {
  let balancer: Balancer;
  let dir: ConfigDir;
  let endpoint: string;

  beforeAll(async () => {
    dir = await ConfigDir.create(BACKENDS);
    balancer = await Balancer.start({ configFile: dir.file, bind: ANY, watch: false });
    endpoint = await balancer.endpoint();
  });

  afterAll(async () => {
    await balancer?.stop();
    await dir?.remove();
  });

  /** The same requests from a steward DEALER, for comparison. */
  async function askFromNode(requests: string[]): Promise<string[]> {
    const socket = new zmq.Dealer({ linger: 0 });
    socket.connect(endpoint);
    try {
      const out: string[] = [];
      for (const r of requests) {
        await socket.send(r);
        out.push((await receiveWithin(socket, 5_000))[0]!.toString());
      }
      return out;
    } finally {
      socket.close();
    }
  }

  it('should get the same answers as a steward client, errors included', async () => {
    const { stdout } = await run(PYTHON, [CLIENT, endpoint, ...REQUESTS], { timeout: 20_000 });
    const fromPython = stdout.trim().split('\n');
    const fromNode = await askFromNode(REQUESTS);
    expect(fromPython).toHaveLength(REQUESTS.length);
    expect(fromPython).toEqual(fromNode);
    const parsed = fromPython.map((line) => JSON.parse(line) as unknown);
    expect(parsed.slice(0, 5)).toEqual([{ dsn: 'mysql://web-1' }, { dsn: 'mysql://web-1' }, { dsn: 'mysql://web-1' }, 'first', 'second']);
    expect(parsed.slice(5).map((p) => (p as { reason: string }).reason)).toEqual([
      'unknown_group',
      'unknown_type',
      'unknown_algorithm',
      'bad_json',
      'not_object',
      'bad_field',
    ]);
  });

  it('should hand the Python client a MySQL backend checked against the running server', async () => {
    const { stdout } = await run(PYTHON, [CLIENT, endpoint, '{"group": "db", "type": "MySQL"}'], { timeout: 20_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ host: '127.0.0.1', port: 3306, name: 'main' });
  });
});
