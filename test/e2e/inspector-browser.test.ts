import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { startInspectorServer } from '../../src/actors/inspect/server.js';
import { InspectionSource } from '../../src/actors/inspect/source.js';
import { workerDisconnect } from '../../src/protocol/mdp.js';
import { launchChromium } from '../helpers/chromium.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { freeEndpoint } from '../helpers/zmq.js';

// Each run saves its screenshot under test-results/; STEWARD_UPDATE_DOCS=1 refreshes the one in docs/.
const SCREENSHOT = fileURLToPath(
  new URL(process.env['STEWARD_UPDATE_DOCS'] === '1' ? '../../docs/inspector.png' : '../../test-results/inspector.png', import.meta.url),
);
const hex = (id: string) => Buffer.from(id).toString('hex');

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('inspector page in headless Chromium', () => {
  it('should show the broker and its worker sessions, drop a session when its worker leaves, and save a screenshot', async () => {
    const source = new InspectionSource();
    const server = await startInspectorServer({ source, port: 0 });
    // Fixed ports: a restarted socket must bind the address the peers know.
    const broker = await Broker.start({
      frontend: await freeEndpoint(),
      backend: await freeEndpoint(),
      drainTimeoutMs: 100,
      heartbeatIntervalMs: 250,
      // Raw workers send no heartbeats: only a DISCONNECT may end their sessions here.
      liveness: 10_000,
      inspect: source.inspect,
    });
    cleanup.push(() => source.close(), () => server.close(), () => broker.stop());
    const { frontend, backend } = await broker.endpoints();

    const browser = await launchChromium();
    cleanup.push(() => browser.close());
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(server.url);
    await expect.poll(() => page.locator('#conn').textContent()).toBe('live');

    // A crash: a ROUTER adapter told to subscribe throws; its supervisor restarts it (rest_for_one).
    broker.actor.system.get(broker.ids.backend)?.send({ type: 'zmq.subscribe', topic: 'x' });
    await expect.poll(() => page.locator('#incidents li[data-kind="crashed"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#incidents li[data-kind="restarted"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.locator('#incidents').textContent()).toContain('backend');
    await expect.poll(() => page.locator('li[data-system-id="broker.backend"] .restarts').textContent()).toBe('\u21bb1');

    const workers = [new RawMdpWorker(backend, 'images-1'), new RawMdpWorker(backend, 'images-2'), new RawMdpWorker(backend, 'echo-1')];
    const client = new RawMdpClient(frontend);
    cleanup.push(() => client.close(), ...workers.map((w) => () => w.close()));
    await workers[0]!.ready('api.images');
    await workers[1]!.ready('api.images');
    await workers[2]!.ready('echo');
    // A little traffic, so the page has counted events to show.
    for (let i = 0; i < 5; i++) {
      await client.request('echo', [`hello ${i}`]);
      const req = await workers[2]!.nextRequest();
      await workers[2]!.reply(req.envelope, [`HELLO ${i}`]);
      await client.reply();
    }

    const sessions = page.locator('li[data-machine="workerSession"]');
    await expect.poll(() => sessions.count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => page.locator('li[data-machine="supervisor"][data-name="broker"]').count()).toBe(1);
    await expect.poll(() => page.locator('li[data-system-id="broker.broker"]').getAttribute('data-state')).toBe('running');
    // Session systemIds carry the registration's number after the worker's routing id.
    const sessionIds = (await sessions.evaluateAll((els) => els.map((e) => e.getAttribute('data-system-id')))).map((id) => id?.replace(/\.\d+$/, ''));
    expect(sessionIds.sort()).toEqual(['images-1', 'images-2', 'echo-1'].map((w) => `broker.sessions.worker.${hex(w)}`).sort());

    // A worker leaves: its session goes from the tree.
    await workers[0]!.socket.send(workerDisconnect());
    await expect.poll(() => sessions.count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator(`li[data-system-id^="broker.sessions.worker.${hex('images-1')}."]`).count()).toBe(0);

    // The selected machine's chart marks its active state.
    await page.locator('li[data-system-id="broker.broker"] > .node').click();
    await expect.poll(() => page.locator('.st.active[data-state-id="broker.running"]').count()).toBe(1);
    await expect.poll(() => page.locator('#context').textContent()).toContain('"workers": 2');

    await page.screenshot({ path: SCREENSHOT });
    expect(failures).toEqual([]);
  });
});
