import { OS_PACKAGE_TYPES, severityRank, type Finding, type Package } from '../core/types.js';
import type { ScanReport, Suppression } from './types.js';

/**
 * Shared ordering and identity helpers of the writers: every array a writer prints is sorted here,
 * and every id a writer derives (bom-ref, SPDXID, fingerprints) comes from the same package key,
 * so two runs over the same report print the same bytes.
 */

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareBy<T>(...keys: ((item: T) => string | number)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const key of keys) {
      const x = key(a);
      const y = key(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : compareText(String(x), String(y));
      if (order !== 0) return order;
    }
    return 0;
  };
}

/** Sorts by a key computed once per item (cheaper than computing keys in every comparison). */
export function sortedBy<T>(items: readonly T[], key: (item: T) => (string | number)[]): T[] {
  const keyed = items.map((item) => ({ item, key: key(item) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i += 1) {
      const x = a.key[i] ?? '';
      const y = b.key[i] ?? '';
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : compareText(String(x), String(y));
      if (order !== 0) return order;
    }
    return 0;
  });
  return keyed.map((k) => k.item);
}

/** Location paths of a package, sorted. */
export function locationPaths(pkg: Package): string[] {
  return [...new Set(pkg.locations.map((l) => l.path))].sort(compareText);
}

/** Identity of a package inside one report: its purl plus where it was found. */
export function packageKey(pkg: Package): string {
  return `${pkg.purl}\u0000${locationPaths(pkg).join('\u0000')}`;
}

export function isOsPackage(pkg: Package): boolean {
  return OS_PACKAGE_TYPES.includes(pkg.type);
}

export const comparePackages = compareBy<Package>(
  (p) => (isOsPackage(p) ? 0 : 1),
  (p) => p.type,
  (p) => p.name,
  (p) => p.version,
  (p) => packageKey(p),
);

export const compareFindings = compareBy<Finding>(
  (f) => f.package.name,
  (f) => f.installedVersion,
  (f) => -severityRank(f.severity),
  (f) => f.advisoryId,
  (f) => packageKey(f.package),
);

export function sortedFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(compareFindings);
}

export function sortedSuppressions(suppressed: readonly Suppression[]): Suppression[] {
  return [...suppressed].sort((a, b) => compareFindings(a.finding, b.finding) || compareText(a.by, b.by));
}

/**
 * Every distinct package of the report (the package list plus the packages of findings and
 * suppressed findings, which a partial report may not list), sorted.
 */
export function allPackages(report: ScanReport): Package[] {
  const byKey = new Map<string, Package>();
  const add = (pkg: Package): void => {
    const key = packageKey(pkg);
    if (!byKey.has(key)) byKey.set(key, pkg);
  };
  report.packages.forEach(add);
  report.findings.forEach((f) => add(f.package));
  report.suppressed.forEach((s) => add(s.finding.package));
  return [...byKey.values()].sort(comparePackages);
}

/**
 * A unique reference per package: the purl itself, or purl + location when the same purl was found
 * at several places (two copies of lodash in two node_modules trees).
 */
export function packageRefs(packages: readonly Package[]): Map<string, string> {
  const purlCount = new Map<string, number>();
  for (const pkg of packages) purlCount.set(pkg.purl, (purlCount.get(pkg.purl) ?? 0) + 1);
  const refs = new Map<string, string>();
  for (const pkg of packages) {
    const unique = purlCount.get(pkg.purl) === 1;
    refs.set(packageKey(pkg), unique ? pkg.purl : `${pkg.purl}|${locationPaths(pkg).join(',')}`);
  }
  return refs;
}

/** Sorts object keys recursively; arrays keep their (already sorted) order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(compareText)) {
      const item: unknown = Reflect.get(value, key);
      if (item !== undefined) out[key] = canonical(item);
    }
    return out;
  }
  return value;
}

export interface ImageName {
  /** Registry and repository, no tag or digest: `docker.io/library/nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry:port/repo:tag@sha256:…` into its parts. */
export function parseImageName(reference: string, digest?: string): ImageName {
  let rest = reference;
  let refDigest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    refDigest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const chosenDigest = digest ?? refDigest;
  return { repository: rest, ...(tag ? { tag } : {}), ...(chosenDigest ? { digest: chosenDigest } : {}) };
}

/** The advisory's public page: NVD for CVEs, GitHub for GHSAs, OSV for the rest. */
export function advisoryUrl(id: string): string {
  if (/^CVE-\d{4}-\d+$/.test(id)) return `https://nvd.nist.gov/vuln/detail/${id}`;
  if (/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(id)) return `https://github.com/advisories/${id}`;
  return `https://osv.dev/vulnerability/${encodeURIComponent(id)}`;
}

/** One line for a finding's fix: `3.0.14-1~deb12u1`, `4.17.21, 4.18.0` or ''. */
export function fixedVersionsText(finding: Finding): string {
  return finding.fixedVersions.join(', ');
}
