import { compareNumericLists, splitNumericList } from '../numericlist.js';
import type { VersionScheme } from '../types.js';
import { boundedCache } from '../util.js';

/**
 * CRAN (R) package versions, ordered as R's `package_version`: at least two non-negative integers
 * separated by `.` or `-` (`1.0-2` = `1.0.2`), compared as integer lists, a longer list being greater
 * when the shorter is its prefix (`1.0 < 1.0.0`).
 *
 * Fallback for invalid versions: see src/versioning/numericlist.ts (text components sort before
 * numbers and compare as text).
 */
const parts = boundedCache((v: string) => splitNumericList(v, /[.-]/));

export const cran = {
  id: 'cran',
  isValid(version: string): boolean {
    return /^\d+(?:[.-]\d+)+$/.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    return compareNumericLists(parts(a), parts(b));
  },
} satisfies VersionScheme;
