/**
 * The shape of a state machine, for drawing it: state nodes nested as in the
 * machine, each with its transitions, taken from `machine.root`. Built once
 * per machine logic and cached; only names cross over, never functions.
 */

export type StateNodeType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartTransition {
  /** Event type; `always` for eventless transitions, `after DELAY` for delayed ones. */
  readonly event: string;
  /** Ids of the target state nodes; empty for a transition that stays (actions only). */
  readonly targets: readonly string[];
  readonly guard: string | null;
  readonly actions: readonly string[];
}

export interface ChartNode {
  readonly id: string;
  readonly key: string;
  readonly type: StateNodeType;
  /** Key of the initial child state. */
  readonly initial: string | null;
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly invoke: readonly string[];
  readonly on: readonly ChartTransition[];
  readonly states: readonly ChartNode[];
}

export interface Chart {
  readonly machine: string;
  readonly root: ChartNode;
  /** Set when the machine was larger than the chart shows. */
  readonly truncated: boolean;
}

/** The parts of XState's StateNode this reads (its public fields). */
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: StateNodeType;
  readonly states: Record<string, StateNodeLike>;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly transitions: Map<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
  readonly initial?: { readonly target: readonly StateNodeLike[] };
  readonly invoke: readonly { readonly id?: string; readonly src?: unknown }[];
}

interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly StateNodeLike[];
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly delay?: unknown;
}

const MAX_NODES = 400;
const MAX_TRANSITIONS_PER_NODE = 100;

const cache = new WeakMap<object, Chart | null>();

function isMachine(logic: unknown): logic is { id: string; root: StateNodeLike } {
  const l = logic as { id?: unknown; root?: { states?: unknown; transitions?: unknown } } | null;
  return typeof l?.id === 'string' && typeof l.root?.states === 'object' && l.root.transitions instanceof Map;
}

/** What an action or guard is called, whatever form it was given in. */
export function nameOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (typeof item === 'function') {
    const builtin = (item as { type?: unknown }).type;
    if (typeof builtin === 'string') return builtin;
    return item.name ? item.name : 'inline';
  }
  if (typeof item === 'object' && item !== null) {
    const type = (item as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return 'inline';
}

function eventLabel(t: TransitionLike): string {
  if (t.delay !== undefined) return `after ${typeof t.delay === 'number' ? `${t.delay}ms` : nameOf(t.delay)}`;
  return t.eventType;
}

function transition(t: TransitionLike, event: string): ChartTransition {
  return {
    event,
    targets: (t.target ?? []).map((s) => s.id),
    guard: t.guard === undefined ? null : nameOf(t.guard),
    actions: t.actions.map(nameOf),
  };
}

function build(node: StateNodeLike, budget: { nodes: number; truncated: boolean }): ChartNode {
  budget.nodes += 1;
  const on: ChartTransition[] = [];
  for (const [, list] of node.transitions) {
    for (const t of list) {
      if (on.length >= MAX_TRANSITIONS_PER_NODE) break;
      on.push(transition(t, eventLabel(t)));
    }
  }
  for (const t of node.always ?? []) if (on.length < MAX_TRANSITIONS_PER_NODE) on.push(transition(t, 'always'));
  const states: ChartNode[] = [];
  for (const child of Object.values(node.states)) {
    if (budget.nodes >= MAX_NODES) {
      budget.truncated = true;
      break;
    }
    states.push(build(child, budget));
  }
  const initial = node.type === 'compound' ? (node.initial?.target[0]?.key ?? null) : null;
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial,
    entry: node.entry.map(nameOf),
    exit: node.exit.map(nameOf),
    invoke: node.invoke.map((i) => i.id ?? nameOf(i.src)),
    on,
    states,
  };
}

/** The chart of a machine logic, or undefined for other actor logic (callbacks, promises, resources). */
export function chartOf(logic: unknown): Chart | undefined {
  if (typeof logic !== 'object' || logic === null) return undefined;
  const cached = cache.get(logic);
  if (cached !== undefined) return cached ?? undefined;
  let chart: Chart | null = null;
  if (isMachine(logic)) {
    const budget = { nodes: 0, truncated: false };
    const root = build(logic.root, budget);
    chart = { machine: logic.id, root, truncated: budget.truncated };
  }
  cache.set(logic, chart);
  return chart ?? undefined;
}
