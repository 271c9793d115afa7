import type { CvssScore, Finding, Severity } from '../core/index.js';

/** CVSS base score → qualitative rating (CVSS v3/v4 bands; v2 scores use the same bands here). */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'unknown';
}

function family(version: CvssScore['version']): 0 | 1 | 2 {
  if (version === '3.0' || version === '3.1') return 2;
  if (version === '4.0') return 1;
  return 0;
}

/**
 * The score reported with a finding: the highest v3.x base score; without any v3.x, the highest v4.0;
 * else the highest v2.0. Ties keep the earlier score in the given order.
 */
export function chooseCvss(scores: readonly CvssScore[]): CvssScore | undefined {
  let best: CvssScore | undefined;
  for (const score of scores) {
    if (!Number.isFinite(score.baseScore)) continue;
    if (
      best === undefined ||
      family(score.version) > family(best.version) ||
      (family(score.version) === family(best.version) && score.baseScore > best.baseScore)
    ) {
      best = score;
    }
  }
  return best;
}

export interface SeverityInput {
  isOsPackage: boolean;
  /** Per-package distro ratings, highest-priority record first. */
  distroRatings: readonly (Severity | undefined)[];
  /** Advisories' own ratings, highest-priority record first. */
  advisoryRatings: readonly (Severity | undefined)[];
  cvss: CvssScore | undefined;
}

/**
 * The distro's rating for an OS package when the distro gave one; else the advisory's own rating;
 * else the chosen CVSS score mapped to a band; else 'unknown'. A rating of 'unknown' counts as none.
 */
export function chooseSeverity(input: SeverityInput): Pick<Finding, 'severity' | 'severitySource'> {
  if (input.isOsPackage) {
    const distro = firstRating(input.distroRatings);
    if (distro) return { severity: distro, severitySource: 'distro' };
  }
  const advisory = firstRating(input.advisoryRatings);
  if (advisory) return { severity: advisory, severitySource: 'advisory' };
  if (input.cvss) {
    const banded = severityFromScore(input.cvss.baseScore);
    if (banded !== 'unknown') return { severity: banded, severitySource: 'cvss' };
  }
  return { severity: 'unknown', severitySource: 'none' };
}

/** The first rating that says something ('unknown' says nothing). */
function firstRating(ratings: readonly (Severity | undefined)[]): Severity | undefined {
  for (let i = 0; i < ratings.length; i++) {
    const rating = ratings[i];
    if (rating !== undefined && rating !== 'unknown') return rating;
  }
  return undefined;
}
