import { connect, createInbox, type Msg, type NatsError } from 'nats';
import type { Caller } from './caller.js';

/**
 * nats.js used for speed: replies arrive on one callback subscription on a
 * private inbox (`INBOX.*`, the request's number after the dot) and are
 * matched in a Map, which is what Moleculer's NATS transporter does too.
 * `nc.request()` would add a timer, a per-request promise chain and a mux
 * lookup by random token to every call; nothing here is per request but the
 * reply subject and the Map entry. A call that never gets its reply is given
 * up by the bench's own timeout on the run.
 */
export async function natsCaller(url: string): Promise<Caller> {
  const nc = await connect({ servers: url, name: `bench-client-${process.pid}` });
  const inbox = createInbox();
  const waiting = new Map<number, (data: Uint8Array) => void>();
  let next = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (error: NatsError | null, msg: Msg) => {
      if (error) return;
      const id = Number(msg.subject.slice(inbox.length + 1));
      const resolve = waiting.get(id);
      if (!resolve) return;
      waiting.delete(id);
      resolve(msg.data);
    },
  });
  await nc.flush();
  return {
    prepare(subject, bytes) {
      const body = Buffer.alloc(bytes, 'x');
      return () =>
        new Promise<Uint8Array>((resolve) => {
          const id = next++;
          waiting.set(id, resolve);
          nc.publish(subject, body, { reply: `${inbox}.${id}` });
        });
    },
    close: () => nc.close(),
  };
}
