import type { ValueRead } from './reads.js';

/**
 * The engine's memo of assignment outcomes. An assignment's violations and errors are a function of
 * its parameters and of what its expressions read (reads.ts): the values at those paths of the
 * request's variables, the pod's containers when it judges containers, and the kind (which places
 * the pod template). The memo keys an outcome on exactly that, so pods that differ only where no
 * policy looks — the name, uid and creationTimestamp of pods of one ReplicaSet, a StatefulSet pod's
 * own labels, a DaemonSet pod's node affinity — share it, and any difference a policy reads is a
 * new key.
 *
 * A key is short: each read's value is serialized (JSON) and interned to a number once per
 * request, and the key is the assignment, the kind and those numbers. Numbers are never reused, so
 * a key can only match the values it was made from. Memory is bounded: at most `size` outcomes
 * (the oldest evicted first), fragments over MAX_FRAGMENT_CHARS are not kept (the assignment is
 * then evaluated, not memoized, for that request), and the interner holds two generations of at most
 * GENERATION_CHARS each. When the newer one is full the older is dropped; a fragment met again that
 * only the older one held moves into the newer with its number, so the outcomes of the values still
 * in use stay valid. (Clearing everything at once instead made the next pod of every workload pay
 * for its evaluation at the same moment: ≈ 20 CPU-ms more over 40 reviews of the benchmark's stream.)
 * A value is interned only when met a second time (the first meeting leaves a hash in a bounded set):
 * values of one object only — a StatefulSet pod's own labels — then leave neither a fragment nor an
 * outcome behind, which would live long enough to be promoted and then die in the old generation
 * (≈ 45 % of what a stream with one StatefulSet pod in five promoted; each major GC this brings on
 * stalls the webhook for 30–45 ms, bench/README.md "The tail, continued").
 */

export const MAX_FRAGMENT_CHARS = 64 * 1024;
/** One generation of the interner (two are kept: 4 MiB of fragments at most). */
export const GENERATION_CHARS = 2 * 1024 * 1024;

export interface OutcomeMemo<T> {
  /** The outcome of assignment `slot` for `key` (what it reads, serialized as numbers). */
  get(slot: number, key: string): T | undefined;
  set(slot: number, key: string, outcome: T): void;
  /**
   * The number of a serialized value (−1 when it is too large to keep, or met for the first time).
   * Two namespaces, so a JSON text is interned as it is, without a tag copied in front of a long
   * string. A fragment made only of interned numbers and type tags (`derived`) is interned at once.
   */
  intern(fragment: string, space: 'json' | 'other', derived?: boolean): number;
  /** Outcomes kept. */
  readonly size: number;
  /** Characters of the fragments the interner holds (both generations). */
  readonly internedChars: number;
}

/**
 * Fragments met once are remembered only by a hash, here at most this many; then the set starts
 * over. A hash collision only interns a fragment one meeting early: interning itself is exact.
 */
export const SEEN_ONCE_MAX = 16 * 1024;

/** FNV-1a over the UTF-16 code units, kept a small integer (no heap number in the set). */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

type Generation = { json: Map<string, number>; other: Map<string, number>; chars: number };
const generation = (): Generation => ({ json: new Map(), other: new Map(), chars: 0 });

export function createOutcomeMemo<T>(size: number): OutcomeMemo<T> {
  // One map per assignment: assignments that read the same things look up the same key string,
  // whose hash is then computed once per request.
  const outcomes: Array<Map<string, T> | undefined> = [];
  // Insertion order across all maps, for eviction (oldest first; a hit does not move: re-ordering on
  // every hit would cost more than the rare recompute).
  let order: Array<[number, string]> = [];
  let oldest = 0;
  let count = 0;
  let current = generation();
  let previous = generation();
  let nextId = 0;
  let seenOnce = new Set<number>();
  return {
    get: (slot, key) => outcomes[slot]?.get(key),
    set(slot, key, outcome) {
      if (size <= 0) return;
      if (count >= size) {
        const evicted = order[oldest];
        oldest += 1;
        if (evicted && outcomes[evicted[0]]?.delete(evicted[1])) count -= 1;
        // Drop the consumed front of the queue now and then, not on every eviction.
        if (oldest > size) {
          order = order.slice(oldest);
          oldest = 0;
        }
      }
      let map = outcomes[slot];
      if (map === undefined) {
        map = new Map();
        outcomes[slot] = map;
      }
      if (!map.has(key)) {
        count += 1;
        order.push([slot, key]);
      }
      map.set(key, outcome);
    },
    intern(fragment, space, derived = false) {
      if (fragment.length > MAX_FRAGMENT_CHARS) return -1;
      const known = current[space].get(fragment);
      if (known !== undefined) return known;
      const kept = previous[space].get(fragment);
      if (kept === undefined && !derived) {
        // Met for the first time: not kept (nor any outcome keyed on it) until it comes again, so a
        // value of one object only (a StatefulSet pod's own labels, a new pod's images) leaves
        // nothing behind to age into the old generation.
        const h = hashOf(fragment);
        if (!seenOnce.has(h)) {
          if (seenOnce.size >= SEEN_ONCE_MAX) seenOnce = new Set();
          seenOnce.add(h);
          return -1;
        }
        seenOnce.delete(h);
      }
      if (current.chars + fragment.length > GENERATION_CHARS) {
        previous = current;
        current = generation();
      }
      // Still in use: keep its number, so the outcomes keyed on it stay reachable.
      const id = kept ?? nextId++;
      current[space].set(fragment, id);
      current.chars += fragment.length;
      return id;
    },
    get size() {
      return count;
    },
    get internedChars() {
      return current.chars + previous.chars;
    },
  };
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeTag(value: unknown): string {
  if (value === undefined) return 'u';
  if (value === null) return 'n';
  if (Array.isArray(value)) return 'a';
  return typeof value;
}

/** The structure of a value: map keys and list lengths kept, each scalar replaced by its type. */
function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(shapeOf).join(',')}]`;
  if (isObject(value)) {
    let out = '{';
    for (const key of Object.keys(value)) out += `${JSON.stringify(key)}:${shapeOf(value[key])},`;
    return `${out}}`;
  }
  return typeTag(value);
}

/** The read's variables for one request (pod: the Pod or pod template; null for object policies). */
export interface ReadRoots {
  object: unknown;
  oldObject: unknown;
  request: unknown;
  namespaceObject: unknown;
  pod: unknown;
}

/**
 * Serializes and interns, once per request, the values at the paths policies read. A path that
 * meets a list, a scalar or null before its end records that value and the depth it stopped at
 * (the value decides what the expression does there: an error, `has` false …); a missing key
 * records its absence.
 */
export class RequestReads {
  /** Interned numbers by read slot (the engine numbers its distinct reads); −2: not computed yet. */
  private readonly ids: number[];
  private containers = -2;
  private readonly texts = new Map<object, number>();

  constructor(
    private readonly memo: OutcomeMemo<unknown>,
    private readonly roots: ReadRoots,
    private readonly reads: readonly ValueRead[],
  ) {
    this.ids = new Array<number>(reads.length).fill(-2);
  }

  /** JSON of a value ('~' for undefined). */
  private static json(value: unknown): string {
    return value === undefined ? '~' : JSON.stringify(value);
  }

  private root(name: string): unknown {
    switch (name) {
      case 'object':
        return this.roots.object;
      case 'oldObject':
        return this.roots.oldObject;
      case 'request':
        return this.roots.request;
      case 'namespaceObject':
        return this.roots.namespaceObject;
      case 'pod':
        return this.roots.pod;
      default:
        throw new Error(`policy variable ${name} is not read from the request`);
    }
  }

  /** The interned number of a value's JSON (−1: too large to memoize), computed once per object per request. */
  private jsonId(value: unknown): number {
    if (typeof value !== 'object' || value === null) return this.memo.intern(RequestReads.json(value), 'json');
    let n = this.texts.get(value);
    if (n === undefined) {
      n = this.memo.intern(RequestReads.json(value), 'json');
      this.texts.set(value, n);
    }
    return n;
  }

  private fragmentId(read: ValueRead): number {
    let cur: unknown = this.root(read.root);
    for (let i = 0; i < read.path.length; i++) {
      if (!isObject(cur)) {
        const n = this.jsonId(cur);
        return n < 0 ? -1 : this.memo.intern(`${i}:${n}`, 'other', true);
      }
      const key = read.path[i] ?? '';
      cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
    }
    if (read.mode === 'type') return this.memo.intern(`t:${typeTag(cur)}`, 'other', true);
    if (read.mode === 'shape') return this.memo.intern(`s:${shapeOf(cur)}`, 'other');
    // The common case, and the one with long texts: the JSON itself is the fragment.
    return this.jsonId(cur);
  }

  /** The interned number of read `slot` (−1: too large to memoize). */
  idOf(slot: number): number {
    let n = this.ids[slot] ?? -1;
    if (n === -2) {
      const read = this.reads[slot];
      n = read === undefined ? -1 : this.fragmentId(read);
      this.ids[slot] = n;
    }
    return n;
  }

  /** The interned number of the pod's container lists (−1: too large to memoize). */
  containersId(pod: JsonObject): number {
    if (this.containers === -2) {
      const spec = pod.spec;
      // A list's number is kept per object: a pod-level read of the same list reuses it.
      const ids = isObject(spec) ? [spec.initContainers, spec.containers, spec.ephemeralContainers].map((list) => this.jsonId(list)) : [];
      this.containers = ids.some((id) => id < 0) ? -1 : this.memo.intern(`c:${ids.join(',')}`, 'other', true);
    }
    return this.containers;
  }
}
