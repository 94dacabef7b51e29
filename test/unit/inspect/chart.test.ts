import { describe, expect, it } from 'vitest';
import { fromCallback } from 'xstate';
import { chartOf, type ChartNode } from '../../../src/actors/inspect/chart.js';
import { brokerMachine } from '../../../src/machines/broker/broker.machine.js';
import { silentLogger } from '../../../src/log.js';
import { DropCounter } from '../../../src/metrics/drops.js';
import { supervisor } from '../../../src/supervisor/index.js';

const find = (node: ChartNode, key: string): ChartNode | undefined =>
  node.key === key ? node : node.states.map((s) => find(s, key)).find((s) => s !== undefined);

describe('chartOf', () => {
  it('should nest the state nodes and name the initial one', () => {
    const chart = chartOf(supervisor({ name: 's' }));
    expect(chart?.machine).toBe('supervisor');
    expect(chart?.root.states.map((s) => s.key)).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(chart?.root.initial).toBe('starting');
    expect(find(chart!.root, 'stopping')?.states.map((s) => s.key)).toEqual(['next', 'waiting']);
    expect(find(chart!.root, 'stopped')?.type).toBe('final');
  });

  it('should list transitions with targets, guards and actions, eventless and delayed ones included', () => {
    const chart = chartOf(brokerMachine({ sockets: ['a'], sessions: 's', sessionPrefix: 'p', drops: new DropCounter('broker', undefined, silentLogger) }))!;
    const draining = find(chart.root, 'draining')!;
    expect(draining.on).toContainEqual({ event: 'always', targets: ['broker.stopped'], guard: 'drained', actions: [] });
    expect(draining.on).toContainEqual({ event: 'after drainTimeout', targets: ['broker.stopped'], guard: null, actions: [] });
    expect(draining.entry).toEqual(['startDrain', 'xstate.raise']);
    expect(chart.root.on).toContainEqual({ event: 'zmq.batch', targets: [], guard: null, actions: ['handleBatch'] });
  });

  it('should give nothing for logic that is not a machine, and the same chart for the same machine', () => {
    expect(chartOf(fromCallback(() => undefined))).toBeUndefined();
    const logic = supervisor({ name: 'x' });
    expect(chartOf(logic)).toBe(chartOf(logic));
  });
});
