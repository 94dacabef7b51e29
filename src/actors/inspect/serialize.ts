/**
 * A JSON view of anything an actor holds, for people to read: contexts hold
 * Maps, Sets, Buffers, class instances, actor refs, machine logic and cycles,
 * and some are huge. This never throws and never produces more than the
 * limits allow, so serializing a context at flush time costs a bounded amount.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SerializeLimits {
  /** Nesting below this depth is summarized ("[Object]", "[Array(3)]"). */
  readonly maxDepth: number;
  /** Keys shown per object or Map; the rest are counted. */
  readonly maxKeys: number;
  /** Items shown per array or Set; the rest are counted. */
  readonly maxItems: number;
  /** Characters shown per string. */
  readonly maxString: number;
  /** Values visited per call, all levels together: the size budget. */
  readonly maxNodes: number;
  /** Bytes of a Buffer shown, as hex. */
  readonly maxBytes: number;
}

export const DEFAULT_LIMITS: SerializeLimits = {
  maxDepth: 6,
  maxKeys: 40,
  maxItems: 40,
  maxString: 300,
  maxNodes: 1500,
  maxBytes: 16,
};

const ELLIPSIS = '\u2026';

interface Walk {
  readonly limits: SerializeLimits;
  /** Objects on the path from the root: a repeat is a cycle, a shared reference elsewhere is fine. */
  readonly path: Set<object>;
  nodes: number;
}

type Dict = { [key: string]: JsonValue };

export function toJsonSafe(value: unknown, limits: Partial<SerializeLimits> = {}): JsonValue {
  const walk: Walk = { limits: { ...DEFAULT_LIMITS, ...limits }, path: new Set(), nodes: 0 };
  return visit(value, 0, walk);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}${ELLIPSIS}(+${text.length - max} chars)`;
}

function className(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  if (proto === null || proto === Object.prototype) return undefined;
  const name = proto.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'anonymous';
}

function isActorRef(value: object): value is { id?: unknown; sessionId: string } {
  const v = value as { sessionId?: unknown; send?: unknown; getSnapshot?: unknown };
  return typeof v.sessionId === 'string' && typeof v.send === 'function' && typeof v.getSnapshot === 'function';
}

function isActorLogic(value: object): value is { id?: unknown } {
  const v = value as { transition?: unknown; getInitialSnapshot?: unknown };
  return typeof v.transition === 'function' && typeof v.getInitialSnapshot === 'function';
}

function bytesPreview(bytes: Uint8Array, max: number): string {
  const shown = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, max)).toString('hex');
  return `<${bytes.length} bytes ${shown}${bytes.length > max ? ELLIPSIS : ''}>`;
}

function summary(value: object): string {
  if (Array.isArray(value)) return `[Array(${value.length})]`;
  if (value instanceof Map) return `[Map(${value.size})]`;
  if (value instanceof Set) return `[Set(${value.size})]`;
  return `[${className(value) ?? 'Object'}]`;
}

function keyText(key: unknown, limits: SerializeLimits): string {
  if (typeof key === 'string') return truncate(key, limits.maxString);
  if (key instanceof Uint8Array) return bytesPreview(key, limits.maxBytes);
  if (typeof key === 'object' && key !== null) return summary(key);
  return String(key);
}

function visit(value: unknown, depth: number, walk: Walk): JsonValue {
  const { limits } = walk;
  walk.nodes += 1;
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return truncate(value, limits.maxString);
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
    default:
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (walk.nodes > limits.maxNodes) return ELLIPSIS;
  if (obj instanceof Uint8Array) return bytesPreview(obj, limits.maxBytes);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof Error) {
    const code = (obj as { code?: unknown }).code;
    return {
      $error: obj.name,
      message: truncate(obj.message, limits.maxString),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  if (isActorRef(obj)) return `[Actor ${typeof obj.id === 'string' ? obj.id : obj.sessionId}]`;
  if (isActorLogic(obj)) return `[Logic ${typeof obj.id === 'string' ? obj.id : (className(obj) ?? 'actor')}]`;
  if (walk.path.has(obj)) return '[Circular]';
  if (depth >= limits.maxDepth) return summary(obj);

  walk.path.add(obj);
  try {
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let out: unknown;
      try {
        out = toJSON.call(obj);
      } catch (error) {
        return `[toJSON threw: ${truncate(error instanceof Error ? error.message : String(error), limits.maxString)}]`;
      }
      // A toJSON returning its own object would loop; show it as a plain object instead.
      if (out !== obj) return visit(out, depth, walk);
    }
    if (Array.isArray(obj)) return visitList(obj, obj.length, depth, walk);
    if (obj instanceof Set) return visitList(obj, obj.size, depth, walk);
    if (obj instanceof Map) return visitEntries(obj.entries(), obj.size, depth, walk, undefined);
    const name = className(obj);
    const keys = Object.keys(obj);
    const entries = keys.map((k): [string, unknown] => [k, readField(obj, k)]);
    return visitEntries(entries[Symbol.iterator](), keys.length, depth, walk, name);
  } finally {
    walk.path.delete(obj);
  }
}

/** A getter may throw; the serializer never does. */
function readField(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch (error) {
    return `[getter threw: ${error instanceof Error ? error.message : String(error)}]`;
  }
}

function visitList(items: Iterable<unknown>, size: number, depth: number, walk: Walk): JsonValue[] {
  const out: JsonValue[] = [];
  for (const item of items) {
    if (out.length >= walk.limits.maxItems || walk.nodes > walk.limits.maxNodes) {
      out.push(`${ELLIPSIS} ${size - out.length} more`);
      break;
    }
    out.push(visit(item, depth + 1, walk));
  }
  return out;
}

function visitEntries(
  entries: Iterator<[unknown, unknown]>,
  size: number,
  depth: number,
  walk: Walk,
  name: string | undefined,
): Dict {
  const out: Dict = {};
  if (name !== undefined) out['$class'] = name;
  let shown = 0;
  for (let next = entries.next(); !next.done; next = entries.next()) {
    const [key, item] = next.value;
    // undefined fields say nothing a reader needs, as in JSON.stringify.
    if (item === undefined) {
      size -= 1;
      continue;
    }
    if (shown >= walk.limits.maxKeys || walk.nodes > walk.limits.maxNodes) {
      out[ELLIPSIS] = `${size - shown} more`;
      break;
    }
    out[keyText(key, walk.limits)] = visit(item, depth + 1, walk);
    shown += 1;
  }
  return out;
}
