/** What the Node load client drives: one system's client, connected. */
export interface Caller {
  /** A call of `target` (a service or subject) with a body of `bytes` bytes, made ready once and repeated. */
  prepare(target: string, bytes: number): () => Promise<unknown>;
  close(): Promise<void>;
}
