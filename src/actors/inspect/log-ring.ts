import type { JsonValue } from './serialize.js';
import type { LogEntry, LogKind } from './types.js';

interface LogRecord {
  seq: number;
  at: number;
  kind: LogKind;
  actor: string | null;
  type: string;
  source: string | null;
  /** The event or report itself, held only until it is read (serialized) or overwritten. */
  raw: unknown;
  detail: JsonValue | undefined;
}

/**
 * The last N events and reports. Recording one is a few field writes into a
 * slot that is reused once the ring is full; serializing happens when entries
 * are read, at flush time.
 */
export class LogRing {
  private readonly slots: (LogRecord | undefined)[];
  private last = 0;

  constructor(
    size: number,
    private readonly serialize: (raw: unknown) => JsonValue,
  ) {
    this.slots = new Array<LogRecord | undefined>(Math.max(1, size)).fill(undefined);
  }

  /** Sequence number of the newest entry (0 before any). */
  get seq(): number {
    return this.last;
  }

  push(at: number, kind: LogKind, actor: string | null, type: string, source: string | null, raw: unknown, detail?: JsonValue): void {
    const seq = ++this.last;
    const slot = seq % this.slots.length;
    const rec = this.slots[slot];
    if (rec === undefined) {
      this.slots[slot] = { seq, at, kind, actor, type, source, raw, detail };
      return;
    }
    rec.seq = seq;
    rec.at = at;
    rec.kind = kind;
    rec.actor = actor;
    rec.type = type;
    rec.source = source;
    rec.raw = raw;
    rec.detail = detail;
  }

  /** Entries after sequence number `after`, oldest first (those overwritten meanwhile are gone). */
  since(after: number): LogEntry[] {
    const n = this.slots.length;
    const out: LogEntry[] = [];
    for (let s = Math.max(after + 1, this.last - n + 1); s <= this.last; s++) {
      const rec = this.slots[s % n];
      if (rec !== undefined && rec.seq === s) out.push(this.read(rec));
    }
    return out;
  }

  all(): LogEntry[] {
    return this.since(0);
  }

  private read(rec: LogRecord): LogEntry {
    if (rec.detail === undefined) {
      rec.detail = rec.raw === undefined ? null : this.serialize(rec.raw);
      rec.raw = undefined;
    }
    return { seq: rec.seq, at: rec.at, kind: rec.kind, actor: rec.actor, type: rec.type, source: rec.source, detail: rec.detail };
  }
}
