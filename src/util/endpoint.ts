import { isIP } from 'node:net';

/** What a socket does with an endpoint; `listen` is an HTTP server's bind. */
export type EndpointOp = 'bind' | 'connect' | 'listen';

export type EndpointCheck =
  | { readonly ok: true; readonly transport: string; readonly host?: string; readonly port?: string }
  | { readonly ok: false; readonly code: 'EINVAL' | 'EPROTONOSUPPORT'; readonly problem: string };

/** Every transport libzmq knows by name; which of them this build has is libzmq's to say (EPROTONOSUPPORT). */
const TRANSPORTS = new Set(['tcp', 'ipc', 'inproc', 'ws', 'wss', 'pgm', 'epgm', 'norm', 'udp', 'tipc', 'vmci']);
const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/;

function invalid(problem: string): EndpointCheck {
  return { ok: false, code: 'EINVAL', problem };
}

/** `host:port` of a tcp endpoint, the host bracketed when it is IPv6. */
function splitHostPort(address: string): { host: string; port: string } | undefined {
  const at = address.lastIndexOf(':');
  if (at <= 0) return undefined;
  let host = address.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: address.slice(at + 1) };
}

/**
 * Checks an endpoint's shape before libzmq sees it. libzmq refuses most bad
 * endpoints itself, but not all: `tcp://127.0.0.1:99999` binds port 34463
 * (the port wraps at 16 bits) and `tcp://host:*` given to connect waits
 * forever. Pure: host names are resolved elsewhere.
 */
export function checkEndpoint(endpoint: string, op: EndpointOp): EndpointCheck {
  const shape = SHAPE.exec(endpoint);
  if (!shape) return invalid('expected protocol://address, such as tcp://127.0.0.1:5555');
  const transport = (shape[1] as string).toLowerCase();
  const address = shape[2] as string;
  if (!TRANSPORTS.has(transport)) {
    return { ok: false, code: 'EPROTONOSUPPORT', problem: `protocol "${transport}" not supported (use tcp://, ipc:// or inproc://)` };
  }
  if (address.length === 0) return invalid(`nothing after ${transport}://`);
  if (transport !== 'tcp' && transport !== 'ws' && transport !== 'wss') return { ok: true, transport };
  // A connect may name the local side first: tcp://source:port;host:port.
  const target = op === 'connect' && address.includes(';') ? address.slice(address.indexOf(';') + 1) : address;
  const parts = splitHostPort(transport === 'tcp' ? target : (target.split('/')[0] as string));
  if (!parts || parts.host.length === 0) return invalid(`expected ${transport}://HOST:PORT, such as tcp://127.0.0.1:5555`);
  const { host, port } = parts;
  if (port === '*') {
    if (op === 'connect') return invalid('a port of * only makes sense to bind; connect to a port number');
    return { ok: true, transport, host, port };
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535 || (op === 'connect' && Number(port) === 0)) {
    return invalid(`port "${port}" is not a port number (1-65535${op === 'connect' ? '' : ', or * for any free one'})`);
  }
  return { ok: true, transport, host, port };
}

/** Whether a host must be looked up by name before a connect (not an address, not a wildcard). */
export function isHostName(host: string): boolean {
  return host !== '*' && host !== 'localhost' && isIP(host) === 0;
}
