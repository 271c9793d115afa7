/**
 * Domain types shared by every area. Discriminated by literal unions, never `any` metadata.
 * Vulnerability assessment: Package (what a cataloger found) → Advisory (what a feed says) →
 * Finding (the match of the two).
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse: critical 5 … negligible 1, unknown 0. */
export function severityRank(severity: Severity): number {
  switch (severity) {
    case 'critical':
      return 5;
    case 'high':
      return 4;
    case 'medium':
      return 3;
    case 'low':
      return 2;
    case 'negligible':
      return 1;
    case 'unknown':
      return 0;
  }
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** Package types, named as purl types. OS types are deb, apk, rpm; the rest are language ecosystems. */
export const PACKAGE_TYPES = [
  'deb',
  'apk',
  'rpm',
  'npm',
  'pypi',
  'maven',
  'golang',
  'cargo',
  'gem',
  'nuget',
  'composer',
  'pub',
  'hex',
] as const;
export type PackageType = (typeof PACKAGE_TYPES)[number];

export const OS_PACKAGE_TYPES: readonly PackageType[] = ['deb', 'apk', 'rpm'];

/** The operating system of an image, from /etc/os-release and the distro files. */
export interface Distro {
  /** os-release ID, lower case: debian, ubuntu, alpine, rhel, centos, rocky, almalinux, ol, amzn, sles, opensuse-leap, fedora, wolfi, chainguard … */
  id: string;
  /** os-release VERSION_ID (e.g. "12", "22.04", "3.19.1", "9.4", "2023"); empty when the distro has none (rolling). */
  versionId: string;
  codename?: string;
  prettyName?: string;
}

export interface PackageLocation {
  /** Absolute path inside the image (or the file scanned) where the package was recorded. */
  path: string;
  /** Digest of the layer that holds that file, when scanning an image. */
  layer?: string;
}

export interface Package {
  type: PackageType;
  /** Ecosystem name: `@scope/name` for npm, `group:artifact` for Maven, the module path for Go. */
  name: string;
  version: string;
  purl: string;
  /** Source package (dpkg Source, apk origin, rpm source rpm name) where the package manager records one. */
  source?: { name: string; version?: string };
  arch?: string;
  /** Set for OS packages (deb, apk, rpm): the release their advisories are looked up for. */
  distro?: Distro;
  licenses?: string[];
  locations: PackageLocation[];
  /**
   * Set on a language package whose files an OS package manager owns (e.g. 'dpkg' for Debian's
   * python3-requests files). It is listed in the SBOM, but judged through its OS package (whose
   * distro tracker knows the backported fixes), never matched against language advisories.
   */
  managedBy?: string;
}

/** OSV range events. One range evaluator (src/versioning/range.ts) serves every scheme. */
export type RangeEvent =
  | { introduced: string }
  | { fixed: string }
  | { last_affected: string }
  | { limit: string };

export interface AffectedRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: RangeEvent[];
}

/** What the advisory source says about a fix for one package in one namespace. */
export const FIX_STATES = ['fixed', 'unfixed', 'wont-fix', 'not-affected', 'unknown'] as const;
export type FixState = (typeof FIX_STATES)[number];

export interface CvssScore {
  version: '2.0' | '3.0' | '3.1' | '4.0';
  vector: string;
  baseScore: number;
  /** Who published the vector: 'nvd', 'ghsa', 'redhat', 'ubuntu', … or the feed id. */
  source: string;
}

export interface AffectedPackage {
  /** See src/core/namespaces.ts: 'npm', 'pypi', 'debian:12', 'alpine:3.19', 'rhel:9', … */
  namespace: string;
  /** Package name in that namespace; for Debian/Ubuntu the source package, for Alpine the origin. */
  name: string;
  ranges: AffectedRange[];
  /** Explicitly listed affected versions (OSV `versions`). */
  versions: string[];
  fixState: FixState;
  /** Per-package rating by the distro (Debian urgency, Ubuntu priority, Red Hat impact …). */
  severity?: Severity;
}

export interface Advisory {
  id: string;
  /** Other ids of the same vulnerability (CVE ↔ GHSA ↔ DSA/DLA/USN/RHSA/ALAS), without `id` itself. */
  aliases: string[];
  /** The feed it came from, e.g. 'osv:Debian', 'alpine-secdb', 'ubuntu-tracker', 'redhat-api'. */
  source: string;
  summary?: string;
  details?: string;
  published?: string;
  modified?: string;
  withdrawn?: string;
  /** The advisory's own overall rating (GHSA database_specific.severity, distro priority …). */
  severity?: Severity;
  cvss: CvssScore[];
  references: string[];
  affected: AffectedPackage[];
}

export type AdvisoryHeader = Omit<Advisory, 'affected'>;

export interface KevEntry {
  cveId: string;
  dateAdded: string;
  dueDate?: string;
  knownRansomwareUse: boolean;
}

export interface EpssScore {
  cveId: string;
  score: number;
  percentile: number;
}

export interface Finding {
  advisoryId: string;
  aliases: string[];
  summary?: string;
  package: Package;
  installedVersion: string;
  fixedVersions: string[];
  fixState: FixState;
  severity: Severity;
  /** Which source decided the severity: 'distro', 'advisory' or 'cvss'. */
  severitySource: 'distro' | 'advisory' | 'cvss' | 'none';
  cvss?: CvssScore;
  kev?: KevEntry;
  epss?: EpssScore;
  /** Advisory feed the match came from. */
  dataSource: string;
  namespace: string;
}
