/** The part of a zeromq.js socket a reader needs. */
export interface Receivable {
  receive(): Promise<Buffer[]>;
  readonly closed: boolean;
}

/**
 * The read loop of a socket used outside an actor (the API clients, the
 * process's ZAP socket): hands each message to `onMessage`, one at a time,
 * until the socket is closed. Closing the socket is how its owner stops the
 * loop, so the rejection receive() then gives ends it quietly.
 */
export async function readUntilClosed(socket: Receivable, onMessage: (frames: Buffer[]) => void): Promise<void> {
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch {
      return;
    }
    onMessage(frames);
  }
}
