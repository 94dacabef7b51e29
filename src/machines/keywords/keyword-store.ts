/**
 * A dispatcher's keywords: their descriptors and current values, reads,
 * validated writes, and a broadcast for every change. Plain code called once
 * per received burst by the keyword service machine; it returns reply and
 * broadcast frames and touches no socket.
 */
import type { KeywordDefinition } from '../../config/keywords-file.js';
import {
  broadcastFrames,
  errorReply,
  namesPayload,
  okReply,
  syncMarkFrames,
  valuePayload,
  type DispatcherInbound,
} from '../../protocol/keywords.js';
import { castInput, descriptorToJson, type KeywordDescriptor, type KeywordInput, type TypedValue } from '../../protocol/ktl-types.js';

interface Slot {
  readonly descriptor: KeywordDescriptor;
  readonly identify: Buffer;
  value: TypedValue;
}

export type SetResult =
  | { readonly ok: true; readonly value: TypedValue; readonly changed: boolean }
  | { readonly ok: false; readonly code: 'no-such-keyword' | 'invalid-value'; readonly reason: string };

export interface KeywordStats {
  reads: number;
  writes: number;
  rejected: number;
  broadcasts: number;
}

export class KeywordStore {
  private readonly slots = new Map<string, Slot>();
  private readonly names: string[];
  private seq = 0;

  /** Replies and broadcasts to send; drained by the caller after each call. */
  readonly replies: Buffer[][] = [];
  readonly broadcasts: Buffer[][] = [];
  readonly stats: KeywordStats = { reads: 0, writes: 0, rejected: 0, broadcasts: 0 };

  constructor(
    readonly service: string,
    definitions: readonly KeywordDefinition[],
  ) {
    for (const d of definitions) {
      this.slots.set(d.descriptor.name, { descriptor: d.descriptor, identify: Buffer.from(descriptorToJson(d.descriptor)), value: d.initial });
    }
    this.names = [...this.slots.keys()];
  }

  get(name: string): TypedValue | undefined {
    return this.slots.get(name)?.value;
  }

  descriptor(name: string): KeywordDescriptor | undefined {
    return this.slots.get(name)?.descriptor;
  }

  keywords(): readonly string[] {
    return this.names;
  }

  /** The sequence number of the last broadcast (0 before any). */
  get sequence(): number {
    return this.seq;
  }

  /** A write from the dispatcher's own code: bypasses `readonly` (read-only means read-only to clients). */
  set(name: string, input: KeywordInput): SetResult {
    const slot = this.slots.get(name);
    if (!slot) return { ok: false, code: 'no-such-keyword', reason: `"${this.service}" has no keyword "${name}"` };
    const cast = castInput(slot.descriptor, input);
    if (!cast.ok) return { ok: false, code: 'invalid-value', reason: cast.reason };
    return { ok: true, value: cast.value, changed: this.assign(slot, cast.value) };
  }

  handle(messages: readonly DispatcherInbound[]): void {
    for (const m of messages) {
      if (m.type === 'keywords.invalid') {
        this.replies.push(errorReply(m.peer, m.id, m.code, m.message));
        continue;
      }
      if (m.service !== this.service) {
        // A client with a stale address reached whoever holds those ports now.
        this.replies.push(errorReply(m.peer, m.id, 'wrong-service', `this dispatcher serves "${this.service}", not "${m.service}"; look the service up again`));
        continue;
      }
      if (m.type === 'keywords.enumerate') {
        this.replies.push(okReply(m.peer, m.id, namesPayload(this.names)));
        continue;
      }
      if (m.type === 'keywords.sync' && m.keyword === '') {
        this.replies.push(okReply(m.peer, m.id));
        this.broadcasts.push(syncMarkFrames(this.service, '', m.token));
        continue;
      }
      const slot = this.slots.get(m.keyword);
      if (!slot) {
        this.replies.push(errorReply(m.peer, m.id, 'no-such-keyword', `"${this.service}" has no keyword "${m.keyword}"`));
        continue;
      }
      switch (m.type) {
        case 'keywords.update':
          this.stats.reads += 1;
          this.replies.push(okReply(m.peer, m.id, valuePayload(m.keyword, slot.value.ascii)));
          break;
        case 'keywords.identify':
          this.replies.push(okReply(m.peer, m.id, [slot.identify]));
          break;
        case 'keywords.sync':
          this.replies.push(okReply(m.peer, m.id));
          this.broadcasts.push(syncMarkFrames(this.service, m.keyword, m.token));
          break;
        case 'keywords.modify': {
          if (slot.descriptor.readonly) {
            this.stats.rejected += 1;
            this.replies.push(errorReply(m.peer, m.id, 'read-only', `${this.service}.${m.keyword} is read-only`));
            break;
          }
          const cast = castInput(slot.descriptor, m.value);
          if (!cast.ok) {
            this.stats.rejected += 1;
            this.replies.push(errorReply(m.peer, m.id, 'invalid-value', `${this.service}.${m.keyword} (${slot.descriptor.type}): ${cast.reason}`));
            break;
          }
          this.stats.writes += 1;
          this.assign(slot, cast.value);
          this.replies.push(okReply(m.peer, m.id, valuePayload(m.keyword, cast.value.ascii)));
          break;
        }
      }
    }
  }

  /** Stores a value; broadcasts when it differs from the current one. */
  private assign(slot: Slot, value: TypedValue): boolean {
    if (slot.value.ascii.equals(value.ascii)) return false;
    slot.value = value;
    this.seq += 1;
    this.stats.broadcasts += 1;
    this.broadcasts.push(broadcastFrames(this.service, slot.descriptor.name, this.seq, value.ascii));
    return true;
  }

  toJSON(): object {
    const values: Record<string, string> = {};
    for (const [name, slot] of this.slots) values[name] = slot.value.ascii.toString('utf8', 0, Math.min(slot.value.ascii.length, 256));
    return { service: this.service, sequence: this.seq, stats: this.stats, values };
  }
}
