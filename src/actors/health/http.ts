import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorText, failed, ok, settleOnce, type Probe } from './types.js';

/**
 * Up when a GET answers 2xx. The body is never read: the status line decides,
 * and the socket is destroyed (no keep-alive agent holds it).
 */
export const httpProbe: Probe<'Http'> = (target, signal) => {
  const request = target.url.startsWith('https:') ? httpsRequest : httpRequest;
  const req = request(target.url, { method: 'GET', agent: false, headers: { 'user-agent': 'steward-balancer health check' } });
  const { promise, settle } = settleOnce(signal, `GET ${target.url}`, () => req.destroy());
  req.once('response', (res) => {
    const status = res.statusCode ?? 0;
    res.destroy();
    settle(status >= 200 && status < 300 ? ok(`HTTP ${status}`) : failed(`GET ${target.url}: HTTP ${status}`));
  });
  req.once('error', (error) => settle(failed(`GET ${target.url}: ${errorText(error)}`)));
  req.end();
  return promise;
};
