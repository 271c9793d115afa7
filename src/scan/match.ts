import { systemClock, type Clock } from '../core/clock.js';
import type { Finding, Package } from '../core/types.js';
import { createMatcher, type UnmatchedPackage } from '../match/index.js';
import type { AdvisoryIndex } from '../vulndb/types.js';

/**
 * Matches an SBOM against the advisory DB. Language packages that an OS package manager owns are
 * judged through their OS package only (see assembleSbom), so they are not matched again here.
 */
export function matchPackages(packages: readonly Package[], deps: { index?: AdvisoryIndex; clock?: Clock }): { findings: Finding[]; unmatched: UnmatchedPackage[] } {
  if (!deps.index) return { findings: [], unmatched: [] };
  return createMatcher({ index: deps.index, clock: deps.clock ?? systemClock }).match(packages.filter((p) => p.managedBy === undefined));
}
