import { describe, expect, it } from 'vitest';
import { formatSummary, isCpuProfile, moduleOf, summarizeProfile, type CpuProfile } from '../../../bench/lib/cpuprofile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

// root -> idle, root -> route (steward) -> send (zeromq), root -> (garbage collector)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('route', 'file:///w/dist/machines/broker/routing.js', 41), children: [4] },
    { id: 4, callFrame: frame('send', 'file:///w/node_modules/zeromq/lib/index.js', 9) },
    { id: 5, callFrame: frame('(garbage collector)') },
  ],
  startTime: 0,
  endTime: 1_000,
  // each sample lasts until the next one: deltas[i + 1]
  samples: [2, 3, 3, 4, 5, 2],
  timeDeltas: [0, 100, 200, 300, 100, 100],
};

describe('summarizeProfile', () => {
  it('should attribute each sample the time until the next sample', () => {
    const s = summarizeProfile(profile);
    expect(s.functions.map((f) => [f.name, f.selfMs])).toEqual([
      ['route (routing.js:42)', 0.5],
      ['send (index.js:10)', 0.1],
      ['(garbage collector)', 0.1],
    ]);
  });

  it('should leave idle time out of the busy share', () => {
    const s = summarizeProfile(profile);
    // idle: the first sample (100 us) and the last (no next delta: the mean, 1000 / 6 us)
    expect(s.idleMs).toBeCloseTo(0.1 + 1 / 6, 5);
    expect(s.busyMs).toBeCloseTo(0.7, 5);
    expect(s.functions[0]!.percent).toBeCloseTo((0.5 / 0.7) * 100, 5);
  });

  it('should group self time by module', () => {
    const s = summarizeProfile(profile);
    expect(s.modules.map((m) => m.name)).toEqual(['steward machines/broker/routing.js', 'zeromq', '(garbage collector)']);
  });

  it('should keep only the top entries', () => {
    expect(summarizeProfile(profile, 1).functions).toHaveLength(1);
  });

  it('should spread the run over hit counts when there are no samples', () => {
    const s = summarizeProfile({ ...profile, samples: undefined, timeDeltas: undefined, nodes: profile.nodes.map((n) => ({ ...n, hitCount: n.id === 3 ? 3 : n.id === 4 ? 1 : 0 })) });
    expect(s.functions.map((f) => f.selfMs)).toEqual([0.75, 0.25]);
  });

  it('should format a markdown table', () => {
    const text = formatSummary(summarizeProfile(profile), 'broker');
    expect(text).toContain('| `route (routing.js:42)` | 0.5 | 71.4 |');
  });
});

describe('moduleOf', () => {
  it('should name scoped packages, node internals and V8 buckets', () => {
    expect(moduleOf(frame('x', 'file:///a/node_modules/@statelyai/inspect/dist/i.js'))).toBe('@statelyai/inspect');
    expect(moduleOf(frame('x', 'node:internal/streams/readable'))).toBe('node:internal');
    expect(moduleOf(frame('(program)'))).toBe('(program)');
    expect(moduleOf(frame('memcpy'))).toBe('(native)');
  });
});

describe('isCpuProfile', () => {
  it('should accept a profile and refuse other JSON', () => {
    expect(isCpuProfile(profile)).toBe(true);
    expect(isCpuProfile({ nodes: 1 })).toBe(false);
    expect(isCpuProfile(null)).toBe(false);
  });
});
