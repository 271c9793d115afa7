import { celList, celMap, isCelList, type CelInput } from '@bufbuild/cel';
import type { KubeGraph } from './graph.js';

/**
 * @bufbuild/cel converts a plain JS object into a CEL map on every access (a fresh Map of its
 * entries), which dominates evaluation over tens of thousands of nodes. The graph's views are
 * converted once into CEL maps and lists here (shared sub-objects such as images once), so
 * posture checks and explorer queries read them without copying.
 */

export const GRAPH_LISTS = ['clusters', 'namespaces', 'nodes', 'workloads', 'pods', 'containers', 'images', 'services', 'ingresses', 'serviceAccounts', 'bindings', 'roles'] as const;

export interface CelGraph {
  /** Each node list of the graph as a CEL list. */
  lists: Record<string, CelInput>;
  /** The CEL value of any object of the graph (cached: the same object gives the same value). */
  convert(value: unknown): CelInput;
}

export function createCelConverter(): (value: unknown) => CelInput {
  const seen = new WeakMap<object, CelInput>();
  const convert = (value: unknown): CelInput => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
    if (typeof value !== 'object') return String(value);
    const done = seen.get(value);
    if (done !== undefined) return done;
    let out: CelInput;
    if (Array.isArray(value)) {
      out = celList(value.map(convert));
    } else {
      const map = new Map<string, CelInput>();
      for (const [k, v] of Object.entries(value)) map.set(k, convert(v));
      out = celMap(map);
    }
    seen.set(value, out);
    return out;
  };
  return convert;
}

const cache = new WeakMap<KubeGraph, CelGraph>();

/** The graph as CEL values; objects are converted when first asked for, once per graph. */
export function celGraph(graph: KubeGraph): CelGraph {
  const hit = cache.get(graph);
  if (hit !== undefined) return hit;
  const convert = createCelConverter();
  let lists: Record<string, CelInput> | undefined;
  const out: CelGraph = {
    get lists() {
      if (lists === undefined) {
        lists = {};
        for (const name of GRAPH_LISTS) lists[name] = convert(graph[name]);
      }
      return lists;
    },
    convert,
  };
  cache.set(graph, out);
  return out;
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
