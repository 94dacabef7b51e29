import { errorText, failed, ok, settleOnce, type Probe } from './types.js';

/** Up when the server answers PING with PONG. One connection per check, no retries, nothing queued. */
export const redisProbe: Probe<'Redis'> = async (target, signal) => {
  const where = `redis ${target.host}:${target.port}`;
  // Loaded on first use: most processes never check a Redis backend, and every CLI call pays for imports.
  const { Redis } = await import('ioredis');
  const client = new Redis({
    host: target.host,
    port: target.port,
    ...(target.password !== undefined ? { password: target.password } : {}),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    // The abort signal is the real bound.
    connectTimeout: 30_000,
  });
  const { promise, settle } = settleOnce(signal, where, () => client.disconnect());
  // ioredis prints unhandled 'error' events to the console; the result carries them instead.
  client.on('error', (error: unknown) => settle(failed(`${where}: ${errorText(error)}`)));
  client
    .connect()
    .then(() => client.ping())
    .then(
      (answer) => settle(answer === 'PONG' ? ok() : failed(`${where}: PING answered ${JSON.stringify(answer).slice(0, 64)}`)),
      (error: unknown) => settle(failed(`${where}: ${errorText(error)}`)),
    );
  return promise;
};
