import type { VersionScheme } from '../types.js';
import { boundedCache, compareDigits, compareStrings, isAlphaCode, isDigitCode } from '../util.js';

/**
 * RPM versions (Red Hat, CentOS, Rocky, Alma, Oracle, Amazon, Fedora, SUSE, Mariner):
 * `[epoch:]version[-release]`, compared as librpm does (`rpmvercmp` of rpm >= 4.15 with `~` and
 * `^`, epoch first, a missing epoch being 0). A version without a release sorts before the same
 * version with any release (`1.0 < 1.0-1`), which keeps the order total and transitive; librpm's
 * "release wildcard" matching applies to dependency ranges, not to advisory ordering.
 *
 * Fallback for invalid versions: `rpmvercmp` is total over any string (separators are skipped), so
 * malformed input is compared by the same rules; a non-numeric epoch is treated as part of the version.
 */
interface RpmVersion {
  epoch: string;
  version: string;
  release: string | undefined;
}

function parse(input: string): RpmVersion {
  const v = input.trim();
  let epoch = '0';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0 && /^\d*$/.test(v.slice(0, colon))) {
    epoch = v.slice(0, colon) || '0';
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest, release: undefined };
}

const parsed = boundedCache(parse);

const TILDE = 126;
const CARET = 94;

function isAlnum(c: number): boolean {
  return isDigitCode(c) || isAlphaCode(c);
}

/** librpm `rpmvercmp`. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < b.length && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const ca = i < a.length ? a.charCodeAt(i) : -1;
    const cb = j < b.length ? b.charCodeAt(j) : -1;

    // '~' sorts before everything, even the end of the string.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // '^' sorts after the end of the string but before anything else.
    if (ca === CARET || cb === CARET) {
      if (ca === -1) return -1;
      if (cb === -1) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === -1 || cb === -1) break;

    const numeric = isDigitCode(ca);
    const si = i;
    const sj = j;
    if (numeric) {
      while (i < a.length && isDigitCode(a.charCodeAt(i))) i++;
      while (j < b.length && isDigitCode(b.charCodeAt(j))) j++;
    } else {
      while (i < a.length && isAlphaCode(a.charCodeAt(i))) i++;
      while (j < b.length && isAlphaCode(b.charCodeAt(j))) j++;
    }
    // Segments of different kinds: numeric is newer than alpha.
    if (j === sj) return numeric ? 1 : -1;
    const sa = a.slice(si, i);
    const sb = b.slice(sj, j);
    const rc = numeric ? compareDigits(sa, sb) : compareStrings(sa, sb);
    if (rc !== 0) return rc;
  }
  const restA = i < a.length;
  const restB = j < b.length;
  if (!restA && !restB) return 0;
  return restA ? 1 : -1;
}

export const rpm = {
  id: 'rpm',
  isValid(version: string): boolean {
    return /^(?:\d+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?$/.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    const byEpoch = compareDigits(x.epoch, y.epoch);
    if (byEpoch !== 0) return byEpoch;
    const byVersion = rpmvercmp(x.version, y.version);
    if (byVersion !== 0) return byVersion;
    if (x.release === undefined || y.release === undefined) {
      return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
    }
    return rpmvercmp(x.release, y.release);
  },
} satisfies VersionScheme;
