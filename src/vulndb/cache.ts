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
