/**
 * The broker's answer statuses, as numbers end to end: the compact wire
 * carries them as u16, the tagged STW1 dialect as an ASCII frame written
 * from a table (statusFrame), and the client compares numbers. Bodies of
 * status 200 are the service's reply verbatim.
 */
export const Status = {
  Ok: 200,
  /**
   * Malformed request (too few frames, bad expiration, empty or over-long service name), answered when the
   * `<tag>:<id>` frame or the compact request id could be read; otherwise the broker cannot address it and drops it.
   */
  BadRequest: 400,
  /**
   * No worker serves the service (none has registered, or all left), answered at once to a compact-wire
   * client that did not ask to wait for one (CLIENT_REQUEST_NOWAIT). Another broker may have workers.
   */
  NoWorker: 404,
  /** The worker holding the request died or left; nothing was answered. Safe to retry. */
  WorkerLost: 410,
  /** The request, or the worker's reply to it, broke the broker's message size or frame count limit. */
  TooLarge: 413,
  /** The worker chosen for the request speaks a wire that cannot carry its body whole (several frames to a butler worker). */
  BodyUnsupported: 415,
  /** Unknown `mmi.` name. */
  NotImplemented: 501,
  /**
   * A stream's partial replies waiting for its client to read them passed the broker's per-stream limit
   * (`maxStreamBytes`) or its memory for all streams: the worker writes faster than the client reads and
   * does not heed the window (an MDP/0.2 worker). The stream is ended; partials already read stay read.
   */
  StreamOverflow: 507,
  /** The service's queue is full, the broker serves too many clients or services, or it is shutting down. Retry later. */
  Unavailable: 503,
  /** The request expired before a worker took it. */
  Expired: 504,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

const FRAMES = new Map<number, Buffer>();

/** The status as the ASCII frame of the tagged dialect; one shared Buffer per status. */
export function statusFrame(status: number): Buffer {
  let frame = FRAMES.get(status);
  if (frame === undefined) {
    frame = Buffer.from(String(status), 'latin1');
    FRAMES.set(status, frame);
  }
  return frame;
}
