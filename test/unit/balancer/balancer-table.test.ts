import { describe, expect, it } from 'vitest';
import { parseBalancerConfig, type BalancerConfig } from '../../../src/config/balancer-config.js';
import { seededRandom } from '../../../src/machines/balancer/algorithms.js';
import { BalancerTable } from '../../../src/machines/balancer/balancer-table.js';
import { STIRR_DEFAULTS, type StirrRequest } from '../../../src/protocol/stirr.js';

function config(backends: unknown[]): BalancerConfig {
  return parseBalancerConfig(JSON.stringify({ backends }), 'test.json');
}

const tcp = (port: number, extra: object = {}) => ({ type: 'Tcp', heartbeat: 1, configuration: { host: '127.0.0.1', port }, ...extra });
const req = (r: Partial<StirrRequest> = {}): StirrRequest => ({ ...STIRR_DEFAULTS, ...r });

function configurationOf(table: BalancerTable, r: Partial<StirrRequest> = {}): unknown {
  const d = table.decide(req(r));
  if (!d.ok) throw new Error(`${d.reason}: ${d.error}`);
  return d.backend.spec.configuration;
}

describe('balancer table', () => {
  it('should plan one health actor per checked backend and none for Base', () => {
    const table = new BalancerTable();
    const plan = table.apply(config([{ type: 'Base', configuration: 1 }, tcp(1), tcp(2), tcp(2)]));
    expect(plan.stop).toEqual([]);
    expect(plan.start).toHaveLength(3);
    expect(new Set(plan.start.map((p) => p.id)).size).toBe(3);
    expect(plan.start[0]).toMatchObject({ target: { kind: 'Tcp', port: 1 }, intervalMs: 1000 });
  });

  it('should name each refusal', () => {
    const table = new BalancerTable();
    table.apply(config([{ type: 'Base', configuration: 1 }, { group: 'g', type: 'Base', weight: 0, configuration: 2 }]));
    const reason = (r: Partial<StirrRequest>) => {
      const d = table.decide(req(r));
      return d.ok ? 'ok' : `${d.reason}: ${d.error}`;
    };
    expect(reason({ group: 'nope' })).toBe('unknown_group: unknown group "nope"');
    expect(reason({ type: 'Oracle' })).toMatch(/^unknown_type: unknown type "Oracle"/);
    expect(reason({ type: 'Redis' })).toBe('no_backend: no backend of type "Redis" in group "default"');
    expect(reason({ algorithm: 'Fastest' })).toMatch(/^unknown_algorithm: unknown algorithm "Fastest" \(known: Casual, Weighted/);
    expect(reason({ group: 'g', algorithm: 'Weighted' })).toMatch(/^zero_weights: every live backend has weight 0 \(type "Base", group "g"\)/);
    expect(reason({ group: 'g' })).toBe('ok');
  });

  it('should hand out unchecked backends only while none is up, and never a down one', () => {
    const table = new BalancerTable({ random: seededRandom(1) });
    const plan = table.apply(config([tcp(1, { configuration: { host: 'a', port: 1 } }), tcp(2, { configuration: { host: 'b', port: 2 } })]));
    const [one, two] = plan.start.map((p) => p.id) as [string, string];
    // Nothing checked yet: either may be handed out.
    expect(table.decide(req({ type: 'Tcp' })).ok).toBe(true);
    table.setStatus(two, 'up', undefined);
    for (let i = 0; i < 20; i++) expect(configurationOf(table, { type: 'Tcp' })).toEqual({ host: 'b', port: 2 });
    table.setStatus(two, 'down', 'tcp b:2: ECONNREFUSED');
    for (let i = 0; i < 20; i++) expect(configurationOf(table, { type: 'Tcp' })).toEqual({ host: 'a', port: 1 });
    table.setStatus(one, 'down', 'tcp a:1: ECONNREFUSED');
    const d = table.decide(req({ type: 'Tcp' }));
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toBe('all_down');
      expect(d.error).toContain('ECONNREFUSED');
    }
    table.setStatus(one, 'up', undefined);
    expect(configurationOf(table, { type: 'Tcp' })).toEqual({ host: 'a', port: 1 });
  });

  it('should keep the health of unchanged backends across a reload and stop only the removed ones', () => {
    const table = new BalancerTable();
    const first = table.apply(config([tcp(1), tcp(2)]));
    const [one, two] = first.start.map((p) => p.id) as [string, string];
    table.setStatus(one, 'up', undefined);
    table.setStatus(two, 'down', 'x');
    // Backend 1 keeps its check target but changes weight and group; backend 2 goes; backend 3 comes.
    const second = table.apply(config([tcp(1, { weight: 3, group: 'other' }), tcp(3)]));
    expect(second.stop).toEqual([two]);
    expect(second.start.map((p) => p.target)).toEqual([{ kind: 'Tcp', host: '127.0.0.1', port: 3 }]);
    const summary = table.summary();
    expect(summary.map((s) => [s.group, s.status])).toEqual([
      ['other', 'up'],
      ['default', 'unknown'],
    ]);
    expect(table.setStatus(two, 'up', undefined)).toBeUndefined();
  });

  it('should answer every message of a batch, invalid ones with their own error', () => {
    const table = new BalancerTable();
    table.apply(config([{ type: 'Base', configuration: { n: 1 } }]));
    const peer = Buffer.from('p');
    const good = table.answer({ type: 'stirr.request', envelope: [peer], request: req() });
    expect(good.reason).toBeUndefined();
    expect(good.reply.body.toString()).toBe('{"n":1}');
    const bad = table.answer({ type: 'stirr.invalid', envelope: [peer], reason: 'bad_json', error: 'nope' });
    expect(bad.reason).toBe('bad_json');
    expect(JSON.parse(bad.reply.body.toString())).toEqual({ error: 'nope', reason: 'bad_json' });
  });

  it('should count RoundRobin and LeastRecent over the same pool consistently', () => {
    const table = new BalancerTable();
    table.apply(config([1, 2, 3].map((n) => ({ type: 'Base', configuration: n }))));
    const rr = Array.from({ length: 6 }, () => configurationOf(table, { algorithm: 'RoundRobin' }));
    expect(rr).toEqual([1, 2, 3, 1, 2, 3]);
    // Every backend was handed out; the least recent is the one handed out earliest in the last round.
    expect(configurationOf(table, { algorithm: 'LeastRecent' })).toBe(1);
    expect(configurationOf(table, { algorithm: 'LeastRecent' })).toBe(2);
  });
});
