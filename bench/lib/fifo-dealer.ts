import * as zmq from 'zeromq';
import { SocketWriter } from '../../src/util/socket-writer.js';

/**
 * A raw DEALER for peers that answer in order (an echo ROUTER): each reply
 * resolves the oldest outstanding send. The thinnest possible client, so the
 * baseline measures the transport, not client bookkeeping.
 */
export class FifoDealer {
  private readonly socket = new zmq.Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  private readonly writer = new SocketWriter(this.socket, () => undefined);
  private readonly waiting: Array<(frames: Buffer[]) => void> = [];

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    void this.read();
  }

  request(frames: Buffer[]): Promise<Buffer[]> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.writer.write(frames);
    });
  }

  close(): void {
    this.writer.stop();
    this.socket.close();
  }

  private async read(): Promise<void> {
    try {
      for await (const frames of this.socket) this.waiting.shift()?.(frames);
    } catch {
      // closed
    }
  }
}
