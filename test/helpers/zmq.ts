import * as zmq from 'zeromq';
import { freePorts } from './ports.js';

/** Bind to an ephemeral loopback port and read the endpoint back, so tests never fight over ports. */
export const ANY = 'tcp://127.0.0.1:*';

/**
 * A loopback endpoint whose port is free now, for tests that must bind the same address twice. Found
 * with a Node listener (`freePorts`), not a ZeroMQ socket: libzmq closes a socket's listener on its I/O
 * thread some time after close() returns, so a ZeroMQ probe may still hold the port at the next bind.
 */
export async function freeEndpoint(): Promise<string> {
  const [port] = await freePorts(1);
  return `tcp://127.0.0.1:${port}`;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rejectTimeout) => {
    timer = setTimeout(() => rejectTimeout(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function receiveWithin(socket: zmq.Dealer | zmq.Request | zmq.Pull | zmq.Subscriber | zmq.Router, ms: number): Promise<Buffer[]> {
  return withTimeout(socket.receive(), ms, 'a message');
}

/** Polls until the predicate holds; bounded, never spins forever. */
export async function eventually(predicate: () => boolean | Promise<boolean>, ms = 5000, step = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, step));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

export const strings = (frames: Buffer[]) => frames.map((f) => f.toString());
