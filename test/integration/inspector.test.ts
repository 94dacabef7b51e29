import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/api/broker.js';
import { startInspectorServer, type InspectorServer } from '../../src/actors/inspect/server.js';
import { InspectionSource } from '../../src/actors/inspect/source.js';
import type { ActorView, InspectionDelta, InspectionState, LogEntry } from '../../src/actors/inspect/types.js';
import { workerDisconnect } from '../../src/protocol/mdp.js';
import { RawMdpClient, RawMdpWorker } from '../helpers/mdp-peers.js';
import { SseReader } from '../helpers/sse.js';
import { ANY } from '../helpers/zmq.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** The page's view of the world, rebuilt from the stream the way the page does it. */
class Model {
  readonly actors = new Map<string, ActorView>();
  readonly log: LogEntry[] = [];
  private seen = 0;

  constructor(private readonly sse: SseReader) {}

  sync(): this {
    for (; this.seen < this.sse.messages.length; this.seen++) {
      const m = this.sse.messages[this.seen]!;
      if (m.event === 'hello') {
        const state = JSON.parse(m.data) as InspectionState;
        this.actors.clear();
        for (const a of state.actors) this.actors.set(a.id, a);
        this.log.push(...state.log);
      } else if (m.event === 'delta') {
        const d = JSON.parse(m.data) as InspectionDelta;
        for (const a of d.upsert) this.actors.set(a.id, a);
        for (const r of d.remove) this.actors.delete(r.id);
        this.log.push(...d.log);
      }
    }
    return this;
  }

  find(pred: (a: ActorView) => boolean): ActorView[] {
    return [...this.actors.values()].filter(pred);
  }

  ancestors(a: ActorView): ActorView[] {
    const out: ActorView[] = [];
    for (let p = a.parent; p !== null; ) {
      const parent = this.actors.get(p);
      if (!parent) break;
      out.push(parent);
      p = parent.parent;
    }
    return out;
  }
}

async function setup() {
  const source = new InspectionSource({ flushMs: 50 });
  const server: InspectorServer = await startInspectorServer({ source, port: 0 });
  const broker = await Broker.start({ frontend: ANY, backend: ANY, drainTimeoutMs: 100, heartbeatIntervalMs: 200,
    // Raw workers send no heartbeats: only a DISCONNECT may end their sessions here.
    liveness: 10_000,
    inspect: source.inspect });
  cleanup.push(() => source.close(), () => server.close(), () => broker.stop());
  const sse = new SseReader(`${server.url}/api/stream`);
  cleanup.push(() => sse.close());
  return { source, server, broker, sse, model: new Model(sse), ...(await broker.endpoints()) };
}

function fetchRaw(url: string, init: { method?: string; host?: string } = {}) {
  return new Promise<{ status: number; type: string; body: string }>((resolve, rejectFetch) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: init.method ?? 'GET', headers: init.host ? { host: init.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
      },
    );
    req.on('error', rejectFetch);
    req.end();
  });
}

const sessions = (m: Model) => m.find((a) => a.machine === 'workerSession');

describe('inspector over HTTP', () => {
  it('should stream the supervision tree with the broker and its worker sessions, and drop a session whose worker left', async () => {
    const { sse, model, backend } = await setup();
    const w1 = new RawMdpWorker(backend, 'w-one');
    const w2 = new RawMdpWorker(backend, 'w-two');
    cleanup.push(() => w1.close(), () => w2.close());
    await w1.ready('echo');
    await w2.ready('echo');

    await sse.until(() => (sessions(model.sync()).length === 2 ? true : undefined));
    const root = model.find((a) => a.parent === null && a.machine === 'supervisor');
    expect(root.map((a) => a.name)).toEqual(['broker']);
    const brokerMachine = model.find((a) => a.systemId === 'broker.broker')[0];
    expect(brokerMachine).toMatchObject({ machine: 'broker', value: 'running' });
    expect(model.ancestors(brokerMachine!).map((a) => a.name)).toEqual(['broker']);
    for (const s of sessions(model)) {
      expect(s.context).toMatchObject({ service: 'echo' });
      expect(model.ancestors(s).map((a) => a.systemId ?? a.name)).toContain('broker.sessions');
      expect(model.ancestors(s).at(-1)?.name).toBe('broker');
    }
    expect(model.find((a) => a.systemId === 'broker.heartbeat')[0]).toMatchObject({ machine: 'heartbeatMonitor' });
    expect(model.find((a) => a.systemId === 'broker.frontend')[0]).toMatchObject({ machine: null, value: null });

    const leaving = sessions(model).find((s) => (s.systemId ?? '').includes(`.${Buffer.from('w-one').toString('hex')}.`));
    await w1.socket.send(workerDisconnect());
    await sse.until(() => (sessions(model.sync()).length === 1 ? true : undefined));
    // The log says which session ended and why, though the actor, stopped by its supervisor, sent no done event.
    await sse.until(() => (model.sync().log.some((e) => e.kind === 'exited' && e.type === leaving?.name) ? true : undefined));
    expect(model.log.find((e) => e.kind === 'exited' && e.type === leaving?.name)).toMatchObject({
      detail: { cause: 'terminated', reason: 'disconnected' },
    });
    // Session systemIds carry the registration's number after the worker's routing id.
    expect(sessions(model)[0]?.systemId).toMatch(new RegExp(`^broker\\.sessions\\.worker\\.${Buffer.from('w-two').toString('hex')}\\.\\d+$`));
    // Its session was terminated by the sessions supervisor: no actor of it is left in the tree.
    expect(model.find((a) => (a.systemId ?? '').startsWith(`broker.sessions.worker.${Buffer.from('w-one').toString('hex')}.`))).toHaveLength(0);
  });

  it('should count the hot burst events instead of logging them', async () => {
    const { sse, model, frontend, backend } = await setup();
    const worker = new RawMdpWorker(backend);
    const client = new RawMdpClient(frontend);
    cleanup.push(() => worker.close(), () => client.close());
    await worker.ready('echo');
    for (let i = 0; i < 20; i++) {
      await client.request('echo', [`m${i}`]);
      const req = await worker.nextRequest();
      await worker.reply(req.envelope, ['ok']);
      await client.reply();
    }
    const hot = await sse.until(() => {
      model.sync();
      const last = [...sse.messages].reverse().find((m) => m.event === 'delta');
      const counts = last ? (JSON.parse(last.data) as InspectionDelta).hot : undefined;
      return counts && (counts['zmq.batch'] ?? 0) >= 40 ? counts : undefined;
    });
    expect(hot['zmq.send']).toBeGreaterThan(0);
    expect(model.log.filter((e) => e.type === 'zmq.batch' || e.type === 'zmq.send')).toEqual([]);
  });

  it('should serve the page, its script and style, the state and a machine chart', async () => {
    const { server, source, backend } = await setup();
    const worker = new RawMdpWorker(backend);
    cleanup.push(() => worker.close());
    await worker.ready('svc');
    const page = await fetchRaw(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('/app.js');
    expect((await fetchRaw(`${server.url}/app.js`)).type).toContain('javascript');
    expect((await fetchRaw(`${server.url}/app.css`)).type).toContain('text/css');
    await sseFree(source);
    const state = JSON.parse((await fetchRaw(`${server.url}/api/state`)).body) as InspectionState;
    const session = state.actors.find((a) => a.machine === 'workerSession');
    const chart = JSON.parse((await fetchRaw(`${server.url}/api/chart?key=${session?.chart}`)).body) as { machine: string; root: { states: { key: string }[] } };
    expect(chart.machine).toBe('workerSession');
    expect(chart.root.states.map((s) => s.key)).toEqual(['idle', 'busy', 'gone']);
  });

  it('should refuse other methods, unknown paths, foreign Host headers and bad chart keys', async () => {
    const { server } = await setup();
    expect((await fetchRaw(`${server.url}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetchRaw(`${server.url}/etc/passwd`)).status).toBe(404);
    expect((await fetchRaw(`${server.url}/`, { host: `evil.example:${server.port}` })).status).toBe(421);
    // Through an SSH tunnel the port differs; the name is what guards against DNS rebinding.
    expect((await fetchRaw(`${server.url}/`, { host: 'localhost:9999' })).status).toBe(200);
    expect((await fetchRaw(`${server.url}/api/chart?key=abc`)).status).toBe(404);
    expect((await fetchRaw(`${server.url}/${'x'.repeat(3000)}`)).status).toBe(414);
  });
});

/** Waits until the source has seen a worker session (no viewer is attached in that test). */
async function sseFree(source: InspectionSource): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (source.state().actors.some((a) => a.machine === 'workerSession')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no worker session within 5 s');
}
