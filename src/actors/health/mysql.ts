import type { RowDataPacket } from 'mysql2';
import { errorText, failed, ok, settleOnce, type Probe } from './types.js';

const STATUS_QUERY = "SHOW GLOBAL STATUS LIKE 'Threads_connected'";
const LIMIT_QUERY = 'SELECT @@GLOBAL.max_connections AS max_connections';
const QUIT_TIMEOUT_MS = 1_000;

function firstNumber(rows: RowDataPacket[], column: string): number | undefined {
  const value = rows[0]?.[column] as unknown;
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * As stirr judged a MySQL backend: log in with the configured user and
 * password, then compare the server's connected threads with its connection
 * limit. A server that refuses the login, or whose load (threads / limit)
 * reached `maxLoad`, is down: handing out a backend that is about to refuse
 * connections only moves the failure to the client.
 */
export const mysqlProbe: Probe<'MySQL'> = async (target, signal) => {
  const where = `mysql ${target.host}:${target.port}`;
  // Loaded on first use: most processes never check a MySQL backend, and every CLI call pays for imports.
  const { createConnection } = await import('mysql2');
  const conn = createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    // The abort signal is the real bound; this only keeps mysql2 from waiting longer by itself.
    connectTimeout: 30_000,
    multipleStatements: false,
  });
  let answered = false;
  const { promise, settle } = settleOnce(signal, where, () => {
    if (!answered) {
      conn.destroy();
      return;
    }
    // A polite QUIT, so the server does not count an aborted client per check; bounded in case it never answers.
    const force = setTimeout(() => conn.destroy(), QUIT_TIMEOUT_MS);
    force.unref();
    // Destroying in end's callback would discard the QUIT still in the socket's buffer: the server closes instead.
    conn.end(() => clearTimeout(force));
  });
  conn.on('error', (error) => settle(failed(`${where}: ${errorText(error)}`)));
  conn.query<RowDataPacket[]>(STATUS_QUERY, (statusError, statusRows) => {
    if (statusError) return settle(failed(`${where}: ${errorText(statusError)}`));
    conn.query<RowDataPacket[]>(LIMIT_QUERY, (limitError, limitRows) => {
      if (limitError) return settle(failed(`${where}: ${errorText(limitError)}`));
      const threads = firstNumber(statusRows, 'Value');
      const limit = firstNumber(limitRows, 'max_connections');
      if (threads === undefined || limit === undefined || limit <= 0) {
        return settle(failed(`${where}: no Threads_connected / max_connections in the server's answer`));
      }
      answered = true;
      const load = threads / limit;
      const detail = `${threads} of ${limit} connections`;
      settle(load < target.maxLoad ? ok(detail) : failed(`${where}: overloaded, ${detail} (limit ${Math.round(target.maxLoad * 100)}%)`));
    });
  });
  return promise;
};
