import { compareComponents, comparePrerelease, parseSemverLike } from '../semverlike.js';
import type { VersionScheme } from '../types.js';
import { boundedCache } from '../util.js';

/**
 * NuGet versions: SemVer 2.0 plus the legacy 4-part form (`1.2.3.4`); missing parts are zero
 * (`1.0` = `1.0.0.0`), pre-release labels compare case-insensitively and build metadata is ignored.
 *
 * Fallback for invalid versions: the same tolerant reading (leading `v`, numeric parts until the
 * first other character, the rest as a pre-release tail), so every string has a place in the order.
 */
const parsed = boundedCache((v: string) => {
  const p = parseSemverLike(v.trim(), 4);
  return { components: p.components, tail: p.tail.toLowerCase() };
});

const VALID = /^v?\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const nuget = {
  id: 'nuget',
  isValid(version: string): boolean {
    return VALID.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    return compareComponents(x.components, y.components) || comparePrerelease(x.tail, y.tail);
  },
} satisfies VersionScheme;
