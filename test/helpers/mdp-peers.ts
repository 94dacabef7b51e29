import * as zmq from 'zeromq';
import { clientRequest, workerHeartbeat, workerReady, workerReply, MdpCommand } from '../../src/protocol/mdp.js';
import { receiveWithin } from './zmq.js';

/** A bare MDP/0.1 worker on a raw DEALER, written from RFC 7 for tests: it answers by hand. */
export class RawMdpWorker {
  readonly socket = new zmq.Dealer({ linger: 0 });

  constructor(endpoint: string, identity?: string) {
    if (identity !== undefined) this.socket.routingId = identity;
    this.socket.connect(endpoint);
  }

  async ready(service: string, credit?: number): Promise<void> {
    await this.socket.send(workerReady(service, credit));
  }

  /** Next REQUEST, skipping heartbeats; returns the envelope and body. */
  async nextRequest(ms = 3000): Promise<{ envelope: Buffer; body: Buffer[] }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const frames = await receiveWithin(this.socket, Math.max(1, deadline - Date.now()));
      if (frames[2]?.[0] === MdpCommand.Request) return { envelope: frames[3] as Buffer, body: frames.slice(5) };
    }
  }

  /** Next command byte received, heartbeats included. */
  async nextCommand(ms = 3000): Promise<number> {
    const frames = await receiveWithin(this.socket, ms);
    return frames[2]?.[0] ?? -1;
  }

  async reply(envelope: Buffer, body: (string | Buffer)[]): Promise<void> {
    await this.socket.send(workerReply(envelope, body.map((b) => Buffer.from(b))));
  }

  async heartbeat(): Promise<void> {
    await this.socket.send(workerHeartbeat());
  }

  close(): void {
    this.socket.close();
  }
}

/** A bare MDP/0.1 client on a raw DEALER. */
export class RawMdpClient {
  readonly socket = new zmq.Dealer({ linger: 0 });

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
  }

  async request(service: string, body: (string | Buffer)[]): Promise<void> {
    await this.socket.send(clientRequest(service, body.map((b) => Buffer.from(b))));
  }

  /** Reply frames after the empty delimiter: MDPC01, service, body... */
  async reply(ms = 3000): Promise<string[]> {
    const frames = await receiveWithin(this.socket, ms);
    return frames.slice(1).map((f) => f.toString());
  }

  close(): void {
    this.socket.close();
  }
}
