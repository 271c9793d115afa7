import type { z } from 'zod';
import { AppError } from '../../../core/errors.js';
import type { AffectedRange, CvssScore, FixState, Severity } from '../../../core/types.js';

/**
 * Helpers shared by the native distro feed parsers (alpine-secdb, ubuntu-tracker, redhat-api,
 * amazon-alas). Each parser stays a pure function of (path, bytes) → advisories.
 */

/** The largest single feed file any distro parser accepts (Alpine's edge main.json is ~1 MiB). */
export const MAX_FEED_FILE_BYTES = 64 * 1024 * 1024;

/** Parses one whole JSON file; throws a BAD_INPUT AppError when the file is unusable as a whole. */
export function parseJsonFile(path: string, data: Buffer, format: string): unknown {
  if (data.length > MAX_FEED_FILE_BYTES) {
    throw new AppError('TOO_LARGE', `${format} file ${path} is ${data.length} bytes, above the ${MAX_FEED_FILE_BYTES}-byte cap; check that the input is the ${format} feed`, {
      details: { path, bytes: data.length },
    });
  }
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (cause) {
    throw new AppError('BAD_INPUT', `${format} file ${path} is not valid JSON; re-download the feed`, {
      cause,
      details: { path },
    });
  }
}

/** A short description of the first zod issues, for skip reasons. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Path segments, tolerant of Windows separators. */
export function pathSegments(path: string): string[] {
  return path.split(/[\\/]+/).filter((segment) => segment.length > 0);
}

/** The head of a file as text, for `detect` sniffing. */
export function headText(head: Buffer): string {
  return head.toString('utf8', 0, Math.min(head.length, 4096));
}

/** True when the head looks like an OSV record (which belongs to the OSV parser, never to a distro parser). */
export function looksLikeOsv(text: string): boolean {
  return /"(?:schema_version|affected)"\s*:/.test(text);
}

/** The one range every distro feed states: affected from the beginning up to `fixed`. */
export function fixedRange(fixed: string): AffectedRange[] {
  return [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];
}

const CVSS_PREFIX = /^CVSS:(3\.0|3\.1|4\.0)\//;

/** A CVSS score from a vector and its base score; version from the vector prefix (none means 2.0). */
export function cvssScore(vector: string, baseScore: number, source: string): CvssScore | undefined {
  const trimmed = vector.trim();
  if (trimmed === '' || !Number.isFinite(baseScore)) return undefined;
  const prefix = CVSS_PREFIX.exec(trimmed);
  const version = prefix ? cvssVersion(prefix[1]) : '2.0';
  return { version, vector: trimmed, baseScore, source };
}

function cvssVersion(text: string | undefined): CvssScore['version'] {
  switch (text) {
    case '3.0':
      return '3.0';
    case '3.1':
      return '3.1';
    case '4.0':
      return '4.0';
    default:
      return '2.0';
  }
}

/**
 * '2024-08-09 12:00:00 UTC', '2018-04-26 17:17:00', '2018-04-26 17:17', '2024-08-09' or an ISO
 * string → ISO 8601 in UTC; undefined when it does not read as a date.
 */
export function isoDate(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(:\d{2})?(?:\.\d+)?)?\s*(?:Z|UTC|\+00:?00)?$/.exec(text.trim());
  if (!m) return undefined;
  const iso = `${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}Z`;
  // Round-trip through Date so that impossible days ('2024-02-30') are refused, not rolled over.
  const time = Date.parse(iso);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 19) === iso.slice(0, 19) ? iso : undefined;
}

/** The lowest of several versions under a comparator; undefined for none. */
export function lowest(versions: Iterable<string>, compare: (a: string, b: string) => number): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    if (best === undefined || compare(v, best) < 0) best = v;
  }
  return best;
}

/** Distro severity words shared by several feeds. */
export function severityWord(word: string | undefined): Severity | undefined {
  switch (word?.trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'important':
    case 'high':
      return 'high';
    case 'moderate':
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case 'negligible':
      return 'negligible';
    default:
      return undefined;
  }
}

/** Code-unit order, independent of locale (output must be the same bytes on every machine). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted, de-duplicated strings (advisory output is stable across runs). */
export function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(byCodeUnit);
}

export interface Nevra {
  name: string;
  /** `[epoch:]version-release`, the epoch only when it is not 0. */
  evr: string;
}

/**
 * A source or binary RPM name as Red Hat prints it in errata: 'openssl-1:3.0.7-27.el9',
 * 'kernel-5.14.0-427.13.1.el9_4' (no epoch) or with an arch suffix ('….x86_64', '….src').
 * Undefined when it does not have name, version and release.
 */
export function parseNevra(text: string): Nevra | undefined {
  let rest = text.trim().replace(/\.(?:src|noarch|x86_64|i686|i386|aarch64|ppc64le|ppc64|s390x|s390)(?:\.rpm)?$/, '');
  const releaseDash = rest.lastIndexOf('-');
  if (releaseDash <= 0) return undefined;
  const release = rest.slice(releaseDash + 1);
  rest = rest.slice(0, releaseDash);
  const versionDash = rest.lastIndexOf('-');
  if (versionDash <= 0) return undefined;
  const name = rest.slice(0, versionDash);
  let version = rest.slice(versionDash + 1);
  let epoch = '0';
  const colon = version.indexOf(':');
  if (colon >= 0) {
    epoch = version.slice(0, colon);
    version = version.slice(colon + 1);
  }
  if (!/^\d+$/.test(epoch) || version === '' || release === '' || /[\s/:]/.test(name + version + release)) {
    return undefined;
  }
  return { name, evr: rpmEvr(epoch, version, release) };
}

/** '[epoch:]version-release', dropping a zero or empty epoch as rpm prints it. */
export function rpmEvr(epoch: string | undefined, version: string, release: string): string {
  const e = epoch === undefined || epoch === '' || /^0+$/.test(epoch) ? '' : `${epoch}:`;
  return `${e}${version}-${release}`;
}

/** Which record wins when one feed says several things about a package in one namespace: fixed, then unfixed, … */
export const FIX_STATE_RANK: Record<FixState, number> = { fixed: 4, unfixed: 3, 'wont-fix': 2, unknown: 1, 'not-affected': 0 };
