import semverLib from 'semver';
import type { SemVer } from 'semver';
import { compareComponents, comparePrerelease, parseSemverLike } from '../semverlike.js';
import type { VersionScheme } from '../types.js';
import { boundedCache } from '../util.js';

/**
 * Semantic Versioning 2.0 as npm, crates.io and Hex use it, parsed by the `semver` package in loose
 * mode (a leading `v` or `=` and extra spaces are accepted). Build metadata does not affect order.
 *
 * Fallback for invalid versions (not semver, or numbers beyond 2^53 that `semver` refuses): a
 * tolerant reading (src/versioning/semverlike.ts) with a leading `v`, unbounded numeric
 * components, and whatever follows the third component compared as a pre-release tail. That
 * ordering agrees with semver on every valid version, so valid and invalid versions can be mixed.
 */
const LOOSE = { loose: true } as const;

const parsed = boundedCache((v: string): SemVer | null => semverLib.parse(v, LOOSE));
const tolerant = boundedCache((v: string) => parseSemverLike(v.trim().replace(/^=+/, ''), 3));

export const semver = {
  id: 'semver',
  isValid(version: string): boolean {
    return parsed(version) !== null;
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    if (x !== null && y !== null) return x.compare(y);
    const p = tolerant(a);
    const q = tolerant(b);
    return compareComponents(p.components, q.components) || comparePrerelease(p.tail, q.tail);
  },
} satisfies VersionScheme;
