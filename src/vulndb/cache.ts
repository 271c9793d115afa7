/**
 * A bounded cache in two generations: new entries go into the young map; when it is full it becomes
 * the old one and the previous old one is dropped; an old entry read again moves to the young map.
 * Every operation is O(1) (evicting the first key of one big Map entry by entry is not: V8 walks
 * the deleted slots each time). Values must not be undefined.
 */
export class GenerationCache<V> {
  private young = new Map<string | number, V>();
  private old = new Map<string | number, V>();

  constructor(private readonly limit: number) {}

  get(key: string | number): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: string | number, value: V): void {
    if (this.young.size >= this.limit) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

/**
 * A GenerationCache that keeps a value only from the second time its key is set: the first time,
 * only the key is remembered (in a cache of keys of the same size). One pass over many distinct keys
 * (a first match of a long package list) then keeps nothing, so what it decoded dies young and costs
 * the garbage collector little; keys asked for again (the next scan, a re-evaluation of stored SBOMs)
 * are kept as before.
 */
export class SecondRequestCache<V> {
  private readonly seen: GenerationCache<true>;
  private readonly values: GenerationCache<V>;

  constructor(limit: number) {
    this.seen = new GenerationCache(limit);
    this.values = new GenerationCache(limit);
  }

  get(key: string | number): V | undefined {
    return this.values.get(key);
  }

  set(key: string | number, value: V): void {
    if (this.seen.get(key)) this.values.set(key, value);
    else this.seen.set(key, true);
  }
}
