import type { AdvisorySummary } from '../vulndb/types.js';
import {
  OS_PACKAGE_TYPES,
  packageNamespace,
  severityRank,
  systemClock,
  type AffectedPackage,
  type Clock,
  type EpssScore,
  type Finding,
  type FixState,
  type KevEntry,
  type Package,
} from '../core/index.js';
import { isAffected, fixedVersionsFor } from '../versioning/range.js';
import { schemeForNamespace } from '../versioning/registry.js';
import type { VersionScheme } from '../versioning/types.js';
import type { AdvisoryCandidate } from '../vulndb/types.js';
import { aliasesOf, groupByVulnerability, isCveId, type MatchedRecord, type VulnerabilityGroup } from './dedup.js';
import { GenerationCache } from '../vulndb/cache.js';
import { lookupFor } from './lookup.js';
import { chooseCvss, chooseSeverity } from './severity.js';
import type { Matcher, MatcherDeps, MatchResult, UnmatchedPackage } from './types.js';

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Severity desc, then package name, version, purl, then advisory id: two runs print the same bytes. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    compareText(a.package.name, b.package.name) ||
    compareText(a.package.version, b.package.version) ||
    compareText(a.package.purl, b.package.purl) ||
    compareText(a.advisoryId, b.advisoryId)
  );
}

function isWithdrawn(advisory: AdvisorySummary, now: number): boolean {
  if (!advisory.withdrawn) return false;
  const at = Date.parse(advisory.withdrawn);
  return Number.isNaN(at) || at <= now;
}

/**
 * Whether one advisory record affects the installed version, and with which fix. Range evaluation
 * (introduced / fixed / last_affected / limit, explicit versions) is src/versioning/range.ts's job.
 *
 * - 'not-affected' never matches.
 * - A record with neither ranges nor versions matches only when its fix state is 'unfixed' or
 *   'wont-fix': the source says every version in the namespace is affected (Red Hat package states).
 * - A matching record's fix state is 'fixed' when a fixed version above the installed one exists;
 *   otherwise the record's own 'wont-fix' / 'unknown', else 'unfixed'.
 */
export function evaluateRecord(
  scheme: VersionScheme,
  version: string,
  affected: AffectedPackage,
): { fixedVersions: string[]; fixState: FixState } | undefined {
  if (affected.fixState === 'not-affected') return undefined;
  if (affected.ranges.length === 0 && affected.versions.length === 0) {
    if (affected.fixState === 'unfixed' || affected.fixState === 'wont-fix') {
      return { fixedVersions: [], fixState: affected.fixState };
    }
    return undefined;
  }
  if (!isAffected(scheme, version, { ranges: affected.ranges, versions: affected.versions })) return undefined;
  const fixedVersions = fixedVersionsFor(scheme, version, affected.ranges);
  if (fixedVersions.length > 0) return { fixedVersions, fixState: 'fixed' };
  const fixState: FixState =
    affected.fixState === 'wont-fix' || affected.fixState === 'unknown' ? affected.fixState : 'unfixed';
  return { fixedVersions: [], fixState };
}

/** What the matcher keeps of the index's answers: per call, or across calls when `cacheSize` > 0. */
interface Caches {
  candidates: GenerationCache<AdvisoryCandidate[]>;
  kev: GenerationCache<{ value: KevEntry | undefined }>;
  epss: GenerationCache<{ value: EpssScore | undefined }>;
}

function newCaches(size: number): Caches {
  return { candidates: new GenerationCache(size), kev: new GenerationCache(size), epss: new GenerationCache(size) };
}

/**
 * Packages × advisories → findings. Looks each package up in its namespace (see lookup.ts for the
 * per-ecosystem name and version rules), evaluates each record with the namespace's version scheme,
 * and merges the records of one vulnerability into one finding (see dedup.ts for the rule):
 * advisory id = the CVE when any record names one; aliases merged; fixed versions unioned, and the
 * fix state is 'fixed' when any record gives a fix, else the primary record's state; severity from
 * the distro's rating (OS packages), else the advisory's own, else the CVSS band (severity.ts).
 * Exemptions and VEX are the report layer's business.
 */
export function createMatcher(deps: MatcherDeps): Matcher {
  const { index } = deps;
  const clock: Clock = deps.clock ?? systemClock;
  const cacheSize = deps.cacheSize ?? 0;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`cacheSize must be a whole number >= 0, got ${cacheSize}`);
  const shared = cacheSize > 0 ? newCaches(cacheSize) : undefined;
  const schemeCache = new Map<string, VersionScheme | undefined>();

  return {
    match(packages: readonly Package[]): MatchResult {
      const now = clock.now().getTime();
      const cache = shared ?? newCaches(Number.POSITIVE_INFINITY);
      const findings: Finding[] = [];
      const unmatched: UnmatchedPackage[] = [];

      const candidatesOf = (namespace: string, name: string): AdvisoryCandidate[] => {
        const key = `${namespace}\u0000${name}`;
        let value = cache.candidates.get(key);
        if (value === undefined) {
          value = index.candidates(namespace, name);
          cache.candidates.set(key, value);
        }
        return value;
      };
      const schemeOf = (namespace: string): VersionScheme | undefined => {
        if (!schemeCache.has(namespace)) schemeCache.set(namespace, schemeForNamespace(namespace));
        return schemeCache.get(namespace);
      };
      const kevOf = (cve: string): KevEntry | undefined => {
        let entry = cache.kev.get(cve);
        if (entry === undefined) {
          entry = { value: index.kev(cve) };
          cache.kev.set(cve, entry);
        }
        return entry.value;
      };
      const epssOf = (cve: string): EpssScore | undefined => {
        let entry = cache.epss.get(cve);
        if (entry === undefined) {
          entry = { value: index.epss(cve) };
          cache.epss.set(cve, entry);
        }
        return entry.value;
      };

      const toFinding = (
        pkg: Package,
        namespace: string,
        installedVersion: string,
        scheme: VersionScheme,
        group: VulnerabilityGroup,
      ): Finding => {
        const primary = group.records[0];
        if (primary === undefined) throw new Error('empty vulnerability group');
        const aliases = aliasesOf(group);
        const fixed = new Set<string>();
        for (const record of group.records) for (const v of record.fixedVersions) fixed.add(v);
        // Sorted by the scheme; spellings the scheme orders equal (PEP 440 `2022.12.07` and `2022.12.7`) kept once.
        const fixedVersions: string[] = [];
        for (const v of [...fixed].sort((a, b) => scheme.compare(a, b) || compareText(a, b))) {
          const last = fixedVersions[fixedVersions.length - 1];
          if (last === undefined || scheme.compare(last, v) !== 0) fixedVersions.push(v);
        }
        const cvss = chooseCvss(group.records.flatMap((r) => r.advisory.cvss));
        const { severity, severitySource } = chooseSeverity({
          isOsPackage: OS_PACKAGE_TYPES.includes(pkg.type),
          distroRatings: group.records.map((r) => r.affected.severity),
          advisoryRatings: group.records.map((r) => r.advisory.severity),
          cvss,
        });
        const finding: Finding = {
          advisoryId: group.key,
          aliases,
          package: pkg,
          installedVersion,
          fixedVersions,
          fixState: fixedVersions.length > 0 ? 'fixed' : primary.fixState,
          severity,
          severitySource,
          dataSource: primary.advisory.source,
          namespace,
        };
        const summary = group.records.find((r) => r.advisory.summary)?.advisory.summary;
        if (summary) finding.summary = summary;
        if (cvss) finding.cvss = cvss;
        // The key is the finding's one CVE id (aliasesOf leaves other CVEs out), so it alone is enriched.
        if (isCveId(group.key)) {
          const kev = kevOf(group.key);
          if (kev) finding.kev = kev;
          const epss = epssOf(group.key);
          if (epss) finding.epss = epss;
        }
        return finding;
      };

      for (const pkg of packages) {
        const namespace = packageNamespace(pkg);
        if (namespace === undefined) {
          unmatched.push({ package: pkg, reason: 'no-namespace' });
          continue;
        }
        const scheme = schemeOf(namespace);
        if (scheme === undefined) {
          unmatched.push({ package: pkg, reason: 'no-scheme' });
          continue;
        }
        const lookup = lookupFor(pkg);
        if (!scheme.isValid(lookup.version)) {
          unmatched.push({ package: pkg, reason: 'invalid-version' });
          continue;
        }
        const matched: MatchedRecord[] = [];
        const seen = new Set<string>();
        for (const name of lookup.names) {
          for (const candidate of candidatesOf(namespace, name)) {
            // An advisory filed under both the binary and the source name (rpm) counts once.
            const recordKey = `${candidate.advisory.source}\u0000${candidate.advisory.id}`;
            if (seen.has(recordKey) || isWithdrawn(candidate.advisory, now)) continue;
            const verdict = evaluateRecord(scheme, lookup.version, candidate.affected);
            if (verdict === undefined) continue;
            seen.add(recordKey);
            matched.push({ advisory: candidate.advisory, affected: candidate.affected, ...verdict });
          }
        }
        if (matched.length === 0) continue;
        for (const group of groupByVulnerability(matched)) {
          findings.push(toFinding(pkg, namespace, pkg.version, scheme, group));
        }
      }
      findings.sort(compareFindings);
      return { findings, unmatched };
    },
  };
}
