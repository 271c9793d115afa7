import { celList, celMap, isCelList, type CelInput } from '@bufbuild/cel';
import type { KubeGraph } from './graph.js';
import type { QueryValue } from './query.js';

/**
 * @bufbuild/cel converts a plain JS object into a CEL map on every access (a fresh Map of its
 * entries), which dominates evaluation over tens of thousands of nodes. The graph's views are
 * wrapped here instead: an object becomes a CEL map that reads its fields when a program asks for
 * them (a condition that reads two fields of a pod converts those two, not the pod's containers,
 * images and service account), and every object is wrapped once per graph, so shared
 * sub-objects such as images keep one CEL value and posture checks and explorer queries share
 * the work.
 */

export const GRAPH_LISTS = ['clusters', 'namespaces', 'nodes', 'workloads', 'pods', 'containers', 'images', 'services', 'ingresses', 'serviceAccounts', 'bindings', 'roles'] as const;

export interface CelGraph {
  /** Each node list of the graph as a CEL list, converted when a program first reads it. */
  lists: Record<string, CelInput>;
  /** The CEL value of any object of the graph (cached: the same object gives the same value). */
  convert(value: unknown): CelInput;
  /** The object or array a CEL value was made from by `convert`; undefined for values a program built. */
  sourceOf(value: unknown): object | undefined;
  /** Frozen plain copies of graph objects that query results returned, by graph object. */
  copies: Map<object, QueryValue>;
}

export interface CelConverter {
  (value: unknown): CelInput;
  sourceOf(value: unknown): object | undefined;
}

/**
 * A plain object seen as a read-only map of its own fields, each converted to a CEL
 * value when read. A field holding `undefined` reads as null, as it would in a converted copy.
 */
class ObjectFields implements ReadonlyMap<string, CelInput> {
  private names: string[] | undefined;

  constructor(
    private readonly object: Readonly<Record<string, unknown>>,
    private readonly convert: (value: unknown) => CelInput,
  ) {}

  private keyList(): string[] {
    this.names ??= Object.keys(this.object);
    return this.names;
  }

  get size(): number {
    return this.keyList().length;
  }

  get(key: string): CelInput | undefined {
    if (typeof key !== 'string' || !Object.hasOwn(this.object, key)) return undefined;
    return this.convert(this.object[key]);
  }

  has(key: string): boolean {
    return typeof key === 'string' && Object.hasOwn(this.object, key);
  }

  forEach(callback: (value: CelInput, key: string, map: ReadonlyMap<string, CelInput>) => void, thisArg?: unknown): void {
    for (const key of this.keyList()) callback.call(thisArg, this.convert(this.object[key]), key, this);
  }

  *entries(): MapIterator<[string, CelInput]> {
    for (const key of this.keyList()) yield [key, this.convert(this.object[key])];
  }

  keys(): MapIterator<string> {
    return this.keyList().values();
  }

  *values(): MapIterator<CelInput> {
    for (const key of this.keyList()) yield this.convert(this.object[key]);
  }

  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A converter and its memory: every object it converts is kept until the converter is dropped
 * (with its graph). Plain Maps, not WeakMaps: they are several times faster to fill, and the
 * converter lives exactly as long as the objects it converted.
 */
export function createCelConverter(): CelConverter {
  const seen = new Map<object, CelInput>();
  const sources = new Map<object, object>();
  const convert = (value: unknown): CelInput => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
    if (typeof value !== 'object') return String(value);
    const done = seen.get(value);
    if (done !== undefined) return done;
    let out: CelInput;
    if (Array.isArray(value)) out = celList(value.map(convert));
    else if (isRecord(value)) out = celMap(new ObjectFields(value, convert));
    else return String(value);
    seen.set(value, out);
    sources.set(out, value);
    return out;
  };
  return Object.assign(convert, {
    sourceOf: (value: unknown): object | undefined => (typeof value === 'object' && value !== null ? sources.get(value) : undefined),
  });
}

const cache = new WeakMap<KubeGraph, CelGraph>();

/** The graph as CEL values; objects are converted when first read, once per graph. */
export function celGraph(graph: KubeGraph): CelGraph {
  const hit = cache.get(graph);
  if (hit !== undefined) return hit;
  const convert = createCelConverter();
  // A program reads its variables by name when it evaluates, so a query over containers converts
  // the container list alone.
  const lists: Record<string, CelInput> = {};
  for (const name of GRAPH_LISTS) {
    let list: CelInput | undefined;
    Object.defineProperty(lists, name, { enumerable: true, get: () => (list ??= convert(graph[name])) });
  }
  const out: CelGraph = {
    lists,
    convert,
    sourceOf: convert.sourceOf,
    copies: new Map(),
  };
  cache.set(graph, out);
  return out;
}

/** Drops the graph's CEL values and copies, after something changed the graph (`attachFindings`). */
export function forgetCelGraph(graph: KubeGraph): void {
  cache.delete(graph);
}

/**
 * The elements of a CEL list, flattened without recursion. @bufbuild/cel builds the result of
 * `map`/`filter` as a chain of concatenated lists one element deep per step; iterating it with
 * `values()` or `get()` recurses once per element and overflows the stack on large results, so
 * concatenations (`_lists`) are walked with an explicit stack here.
 */
export function celListItems(list: Iterable<unknown>): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[] = [list];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'object' && current !== null && '_lists' in current && Array.isArray(current._lists)) {
      const parts: unknown[] = current._lists;
      for (let i = parts.length - 1; i >= 0; i -= 1) stack.push(parts[i]);
      continue;
    }
    if (typeof current === 'object' && current !== null && Symbol.iterator in current && isCelList(current)) {
      for (const v of current) out.push(v);
    }
  }
  return out;
}
