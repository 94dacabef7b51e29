import { describe, expect, it } from 'vitest';
import { parseDuration, parseWrk } from '../../../bench/lib/wrk.js';

const OUTPUT = `Running 5s test @ http://127.0.0.1:5998/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.50ms    2.62ms  89.01ms   97.83%
    Req/Sec    19.53k     9.99k   56.74k    70.00%
  Latency Distribution
     50%  950.00us
     75%    1.39ms
     90%    1.87ms
     99%   11.19ms
  235704 requests in 6.00s, 41.14MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 17
Requests/sec:  39274.28
Transfer/sec:      6.85MB
`;

describe('parseWrk', () => {
  it('should read the rate, percentiles, and error counts', () => {
    expect(parseWrk(OUTPUT)).toEqual({ requests: 235_704, rate: 39_274.28, p50Ms: 0.95, p99Ms: 11.19, non2xx: 17, socketErrors: 3 });
  });

  it('should count no errors when wrk reports none', () => {
    const clean = OUTPUT.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    expect(parseWrk(clean)).toMatchObject({ non2xx: 0, socketErrors: 0 });
  });
});

describe('parseDuration', () => {
  it('should convert wrk units to milliseconds', () => {
    expect([parseDuration('950.00us'), parseDuration('1.5ms'), parseDuration('1.20s'), parseDuration('?')]).toEqual([0.95, 1.5, 1200, Number.NaN]);
  });
});
