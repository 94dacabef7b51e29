import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { backendHealth, type HealthCheckInput, type HealthCheckResult } from '../../../src/machines/balancer/backend-health.machine.js';
import type { HealthStatusEvent } from '../../../src/machines/balancer/events.js';

const INTERVAL = 1_000;
const TIMEOUT = 300;

/** Lets promise callbacks (a check's answer reaching the machine) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call {
  readonly input: HealthCheckInput;
  readonly signal: AbortSignal;
  answer(result: HealthCheckResult): void;
  crash(error: Error): void;
}

function boot() {
  const clock = new SimulatedClock();
  const calls: Call[] = [];
  const check = fromPromise<HealthCheckResult, HealthCheckInput>(
    ({ input, signal }) =>
      new Promise<HealthCheckResult>((resolve, reject) => {
        calls.push({ input, signal, answer: resolve, crash: reject });
      }),
  );
  const actor = createActor(backendHealth.provide({ actors: { check } }), {
    clock,
    input: { id: 'tcp-1', target: { kind: 'Tcp', host: '127.0.0.1', port: 1 }, intervalMs: INTERVAL, timeoutMs: TIMEOUT, owner: 'balancer.machine' },
  });
  const reports: HealthStatusEvent[] = [];
  actor.on('health.status', (e) => reports.push(e));
  actor.start();
  const state = () => actor.getSnapshot().value;
  const last = () => calls[calls.length - 1] as Call;
  return { actor, clock, calls, reports, state, last };
}

describe('backend-health machine', () => {
  it('should start unknown and check at once', () => {
    const { state, calls } = boot();
    expect(state()).toEqual({ unknown: 'checking' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.input).toEqual({ target: { kind: 'Tcp', host: '127.0.0.1', port: 1 }, timeoutMs: TIMEOUT });
  });

  it('should go up on a passing check and report it once', async () => {
    const { state, last, reports } = boot();
    last().answer({ ok: true });
    await flush();
    expect(state()).toEqual({ up: 'waiting' });
    expect(reports).toEqual([{ type: 'health.status', id: 'tcp-1', status: 'up', error: undefined, checks: 1, failures: 0 }]);
  });

  it('should check again one heartbeat after the last check ended, on the system clock', async () => {
    const { clock, calls, last, reports } = boot();
    last().answer({ ok: true });
    await flush();
    clock.increment(INTERVAL - 1);
    expect(calls).toHaveLength(1);
    clock.increment(1);
    expect(calls).toHaveLength(2);
    last().answer({ ok: true });
    await flush();
    // Still up: no second report.
    expect(reports).toHaveLength(1);
  });

  it('should go down with the check\'s error, stay down quietly, and come back up', async () => {
    const { clock, state, last, reports, actor } = boot();
    last().answer({ ok: true });
    await flush();
    clock.increment(INTERVAL);
    last().answer({ ok: false, error: 'tcp 127.0.0.1:1: ECONNREFUSED' });
    await flush();
    expect(state()).toEqual({ down: 'waiting' });
    expect(reports[1]).toMatchObject({ status: 'down', error: 'tcp 127.0.0.1:1: ECONNREFUSED', checks: 2, failures: 1 });
    clock.increment(INTERVAL);
    last().answer({ ok: false, error: 'again' });
    await flush();
    expect(reports).toHaveLength(2);
    expect(actor.getSnapshot().context).toMatchObject({ streak: 2, lastError: 'again' });
    clock.increment(INTERVAL);
    last().answer({ ok: true, detail: '3 of 151 connections' });
    await flush();
    expect(state()).toEqual({ up: 'waiting' });
    expect(reports[2]).toMatchObject({ status: 'up', error: undefined, checks: 4, failures: 2 });
    expect(actor.getSnapshot().context).toMatchObject({ streak: 0, lastError: undefined, lastDetail: '3 of 151 connections' });
  });

  it('should go down within two heartbeats of its server stopping', async () => {
    const { clock, state, last } = boot();
    last().answer({ ok: true });
    await flush();
    // The server stops just after a check passed: the worst case.
    let elapsed = 0;
    while (JSON.stringify(state()) !== JSON.stringify({ down: 'waiting' }) && elapsed <= 2 * INTERVAL) {
      clock.increment(100);
      elapsed += 100;
      const call = last();
      if (!call.signal.aborted) call.answer({ ok: false, error: 'ECONNREFUSED' });
      await flush();
    }
    expect(state()).toEqual({ down: 'waiting' });
    expect(elapsed).toBeLessThanOrEqual(2 * INTERVAL);
  });

  it('should fail a check that outlasts its timeout and abort it', async () => {
    const { clock, state, last, reports } = boot();
    const hanging = last();
    clock.increment(TIMEOUT - 1);
    expect(state()).toEqual({ unknown: 'checking' });
    clock.increment(1);
    expect(state()).toEqual({ down: 'waiting' });
    expect(hanging.signal.aborted).toBe(true);
    expect(reports[0]).toMatchObject({ status: 'down', error: `health check timed out after ${TIMEOUT} ms` });
    // A late answer of the aborted check changes nothing.
    hanging.answer({ ok: true });
    await flush();
    expect(state()).toEqual({ down: 'waiting' });
  });

  it('should treat a check that throws as a failed check, not a crash', async () => {
    const { state, last, actor } = boot();
    last().crash(new Error('driver bug'));
    await flush();
    expect(state()).toEqual({ down: 'waiting' });
    expect(actor.getSnapshot().status).toBe('active');
    expect(actor.getSnapshot().context.lastError).toBe('health check crashed: driver bug');
  });

  it('should abort a running check when stopped', () => {
    const { actor, last } = boot();
    const running = last();
    actor.stop();
    expect(running.signal.aborted).toBe(true);
  });
});
