import type { Clock, Finding, Package } from '../core/index.js';
import type { AdvisoryIndex } from '../vulndb/types.js';

/** Why a package could not be matched at all (as opposed to matched with no findings). */
export type UnmatchedReason = 'no-namespace' | 'no-scheme' | 'invalid-version';

export interface UnmatchedPackage {
  package: Package;
  reason: UnmatchedReason;
}

export interface MatchResult {
  /**
   * One finding per (package, vulnerability); sorted by severity desc, package, advisory id. A
   * finding's `aliases` and `fixedVersions` may be shared with other findings (one list per bundle
   * advisory, per range list) and are then frozen; the `cvss`, `epss` and `kev` objects are shared
   * too (one per advisory or catalog entry). Treat them as read-only: copy before changing.
   */
  findings: Finding[];
  /** Packages that could not be looked up, in input order. */
  unmatched: UnmatchedPackage[];
}

export interface MatcherDeps {
  index: AdvisoryIndex;
  /** Decides whether a withdrawal date has passed; defaults to the system clock. */
  clock?: Clock;
  /**
   * How many (namespace, name) candidate lists (and as many KEV and EPSS entries) are kept ACROSS
   * match() calls, least recently used dropped first. 0, the default, caches within one call only. A cross-call
   * cache is safe because the advisory DB is read-only while open: create a new matcher when a new
   * DB is opened. Worth it for re-evaluating many SBOMs that share base-image packages.
   */
  cacheSize?: number;
}

export interface Matcher {
  match(packages: readonly Package[]): MatchResult;
}
