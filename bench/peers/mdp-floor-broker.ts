/**
 * The floor the broker suite measures steward's broker against: an MDP/0.1
 * broker (RFC 7) on zeromq.js, the library steward uses, with nothing else.
 * One ROUTER for clients and workers, a queue of waiting requests and a list
 * of idle workers per service; no heartbeats, expiry, limits, supervision,
 * metrics or logs. Messages that are not MDP are ignored.
 *
 *   node mdp-floor-broker.js [ENDPOINT]    prints the bound endpoint
 */
import { pathToFileURL } from 'node:url';
import * as zmq from 'zeromq';

interface Service {
  readonly name: Buffer;
  readonly waiting: Buffer[][]; // [client, ...body]
  readonly idle: Buffer[];
}

const EMPTY = Buffer.alloc(0);
const MDPC = Buffer.from('MDPC01');
const MDPW = Buffer.from('MDPW01');
const REQUEST = Buffer.from([2]);

export async function startFloorBroker(endpoint: string): Promise<{ endpoint: string; close(): void }> {
  const router = new zmq.Router({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  await router.bind(endpoint);
  const services = new Map<string, Service>();
  const workers = new Map<string, Service>(); // routing id (latin1) -> the service it serves
  const service = (name: Buffer) => {
    const key = name.toString('latin1');
    let s = services.get(key);
    if (!s) services.set(key, (s = { name, waiting: [], idle: [] }));
    return s;
  };
  // zeromq.js takes one send at a time per socket: queue the rest.
  const outbox: Buffer[][] = [];
  let sending = false;
  const send = (frames: Buffer[]) => {
    outbox.push(frames);
    if (!sending) void flush();
  };
  const flush = async () => {
    sending = true;
    try {
      while (outbox.length > 0) await router.send(outbox.shift()!);
    } catch {
      outbox.length = 0; // closed
    } finally {
      sending = false;
    }
  };
  const dispatch = (s: Service) => {
    while (s.waiting.length > 0 && s.idle.length > 0) {
      const [client, ...body] = s.waiting.shift()!;
      send([s.idle.shift()!, EMPTY, MDPW, REQUEST, client!, EMPTY, ...body]);
    }
  };
  const serve = async () => {
    for await (const [peer, empty, protocol, command, ...rest] of router) {
      if (!peer || empty?.length !== 0 || !protocol || !command) continue;
      if (protocol.equals(MDPC)) {
        const s = service(command); // a client's third frame is the service name
        s.waiting.push([peer, ...rest]);
        dispatch(s);
      } else if (protocol.equals(MDPW) && command.length === 1) {
        const id = peer.toString('latin1');
        if (command[0] === 1 && rest[0]) {
          const s = service(rest[0]); // READY
          workers.set(id, s);
          s.idle.push(peer);
          dispatch(s);
        } else if (command[0] === 3 && rest.length >= 2 && workers.has(id)) {
          const s = workers.get(id)!; // REPLY [client, empty, ...body]
          send([rest[0]!, EMPTY, MDPC, s.name, ...rest.slice(2)]);
          s.idle.push(peer);
          dispatch(s);
        } else if (command[0] === 5) {
          const s = workers.get(id); // DISCONNECT
          workers.delete(id);
          const at = s ? s.idle.findIndex((w) => w.equals(peer)) : -1;
          if (at >= 0) s!.idle.splice(at, 1);
        }
      }
    }
  };
  serve().catch(() => undefined); // ends when the socket closes
  return { endpoint: router.lastEndpoint as string, close: () => router.close() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const floor = await startFloorBroker(process.argv[2] ?? 'tcp://127.0.0.1:*');
  process.stdout.write(`${floor.endpoint}\n`);
  process.on('SIGTERM', () => {
    floor.close();
    process.exit(0);
  });
}
