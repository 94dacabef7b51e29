import { connect } from 'node:net';
import { errorText, failed, ok, settleOnce, type Probe } from './types.js';

/** Up when a TCP connection to host:port opens; the connection is closed at once. */
export const tcpProbe: Probe<'Tcp'> = (target, signal) => {
  const socket = connect({ host: target.host, port: target.port });
  const { promise, settle } = settleOnce(signal, `tcp ${target.host}:${target.port}`, () => socket.destroy());
  socket.once('connect', () => settle(ok()));
  socket.once('error', (error) => settle(failed(`tcp ${target.host}:${target.port}: ${errorText(error)}`)));
  return promise;
};
