import { compareDigits, compareStrings, isDigits } from './util.js';

/**
 * Versions that are plain lists of numbers (R's `package_version`, Haskell's `Data.Version`):
 * compared component by component as unbounded integers (`0.01` = `0.1`, `0.9 < 0.75`), and when one
 * list is a prefix of the other the longer one is greater (`1.0 < 1.0.0`).
 *
 * Fallback for invalid versions: a component that is not all digits sorts before any number and
 * after a missing one, and such components compare as text; so every string has a place.
 */
export function splitNumericList(version: string, separators: RegExp): string[] {
  const v = version.trim();
  return v === '' ? [] : v.split(separators);
}

export function compareNumericLists(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    const xn = isDigits(x);
    const yn = isDigits(y);
    let d: number;
    if (xn && yn) d = compareDigits(x, y);
    else if (!xn && !yn) d = compareStrings(x, y);
    else d = xn ? 1 : -1;
    if (d !== 0) return d;
  }
  return Math.sign(a.length - b.length);
}
