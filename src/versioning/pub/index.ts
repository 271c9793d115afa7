import { buildOf, compareComponents, comparePrerelease, parseSemverLike } from '../semverlike.js';
import type { VersionScheme } from '../types.js';
import { boundedCache, compareStrings } from '../util.js';

/**
 * Dart pub versions (pub_semver): semver with major.minor.patch, a pre-release after `-` and build
 * metadata after `+`. Unlike npm, pub orders build metadata too: `1.0.0+1 < 1.0.0+2` (compared as
 * text when the pre-release parts are equal).
 *
 * Fallback for invalid versions: the tolerant semver-like reading (leading `v`, numeric parts until
 * the first other character, the rest as the pre-release/build tail).
 */
const parsed = boundedCache((v: string) => parseSemverLike(v.trim(), 3));

const VALID = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const pub = {
  id: 'pub',
  isValid(version: string): boolean {
    return VALID.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    return (
      compareComponents(x.components, y.components) ||
      comparePrerelease(x.tail, y.tail) ||
      compareStrings(buildOf(x.tail), buildOf(y.tail))
    );
  },
} satisfies VersionScheme;
