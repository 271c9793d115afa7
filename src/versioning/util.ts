/**
 * Small helpers shared by the version schemes: digit-string comparison without overflow, a
 * bounded parse cache, and sign normalisation.
 */

/** -1, 0 or 1 for a number. */
export function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Plain code-unit comparison (C `strcmp` / Go `strings.Compare` order). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two strings of ASCII digits as unbounded non-negative integers (leading zeros ignored,
 * empty = 0). Never overflows, unlike `Number()` on 30-digit components.
 */
export function compareDigits(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) {
    // An empty string counts as zero.
    if (a.length === 0) return compareDigits('0', b);
    if (b.length === 0) return compareDigits(a, '0');
    return la < lb ? -1 : 1;
  }
  for (let k = 0; k < la; k++) {
    const d = a.charCodeAt(i + k) - b.charCodeAt(j + k);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** True when `s` is one or more ASCII digits. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlphaCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Memoises a parse function in a Map of at most `limit` entries; when full, the map is emptied and
 * refilled (cheaper than per-entry eviction, whose deleted slots make V8 Map iteration slow).
 * Matching compares the same fixed/introduced versions many times, so a small cache removes most
 * parsing.
 */
export function boundedCache<T>(parse: (s: string) => T, limit = 10_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s: string): T => {
    const hit = cache.get(s);
    if (hit !== undefined) return hit;
    const value = parse(s);
    if (cache.size >= limit) cache.clear();
    cache.set(s, value);
    return value;
  };
}
