import { compareComponents, comparePrerelease, parseSemverLike } from '../semverlike.js';
import type { VersionScheme } from '../types.js';
import { boundedCache } from '../util.js';

/**
 * Go module versions (golang.org/x/mod/semver): `vMAJOR[.MINOR[.PATCH]][-pre][+build]`, where
 * `v1.2` means `v1.2.0`, `+incompatible` is build metadata (ignored), and pseudo-versions such as
 * `v0.0.0-20220715151400-c0bba94af5f8` are pre-releases ordered by their timestamp. The Go
 * toolchain's own forms are accepted too: `go1.20.4`, `1.20.4`, `go1.21rc2` (= `1.21.0-rc.2`) and
 * `go1.20beta1`, as OSV's stdlib and toolchain records use them.
 *
 * Fallback for invalid versions: the tolerant semver-like reading (unbounded numeric parts until the
 * first other character, the rest as a pre-release tail), so nothing throws and the order is total.
 */
const TOOLCHAIN = /^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$/;

/** Rewrites a Go toolchain version (`go1.21rc2`) as module semver (`1.21.0-rc.2`). */
function canonical(input: string): string {
  const v = input.trim();
  const m = TOOLCHAIN.exec(v);
  if (!m) return v;
  const [, major, minor = '0', patch = '0', pre, preNum] = m;
  return `${major}.${minor}.${patch}${pre ? `-${pre}.${preNum}` : ''}`;
}

const parsed = boundedCache((v: string) => parseSemverLike(canonical(v), 3));

const VALID =
  /^v?(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$/;

export const go = {
  id: 'go',
  isValid(version: string): boolean {
    return VALID.test(canonical(version));
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    return compareComponents(x.components, y.components) || comparePrerelease(x.tail, y.tail);
  },
} satisfies VersionScheme;
