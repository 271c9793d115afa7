import type { VersionScheme } from '../types.js';
import { boundedCache, compareDigits, isAlphaCode, isDigitCode, sign } from '../util.js';

/**
 * Debian/Ubuntu package versions: `[epoch:]upstream_version[-debian_revision]`, compared as dpkg
 * does (lib/dpkg/version.c `dpkg_version_compare` and `verrevcmp`).
 *
 * Fallback for invalid versions: dpkg's parser would reject them (non-numeric epoch, upstream not
 * starting with a digit, characters outside the policy set). They are still split the same way
 * (a non-numeric epoch counts as part of the upstream version) and compared with `verrevcmp`,
 * which is total over any string, so the order stays consistent and nothing throws.
 */
interface DpkgVersion {
  epoch: string;
  upstream: string;
  revision: string;
}

const VALID = /^(?:(\d+):)?(\d[A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$/;

function parse(version: string): DpkgVersion {
  const v = version.trim();
  let epoch = '0';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon > 0 && /^\d+$/.test(v.slice(0, colon))) {
    epoch = v.slice(0, colon);
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: '' };
}

const parsed = boundedCache(parse);

/** dpkg's character weight: `~` sorts before everything (even the end), letters before others. */
function order(c: number): number {
  if (isDigitCode(c)) return 0;
  if (isAlphaCode(c)) return c;
  if (c === 126) return -1; // '~'
  if (Number.isNaN(c)) return 0; // end of string
  return c + 256;
}

/** dpkg `verrevcmp`: alternating non-digit and digit runs. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigitCode(a.charCodeAt(i))) || (j < b.length && !isDigitCode(b.charCodeAt(j)))) {
      const ac = order(i < a.length ? a.charCodeAt(i) : Number.NaN);
      const bc = order(j < b.length ? b.charCodeAt(j) : Number.NaN);
      if (ac !== bc) return sign(ac - bc);
      i++;
      j++;
    }
    let si = i;
    while (si < a.length && a.charCodeAt(si) === 48) si++;
    let sj = j;
    while (sj < b.length && b.charCodeAt(sj) === 48) sj++;
    i = si;
    j = sj;
    while (i < a.length && isDigitCode(a.charCodeAt(i)) && j < b.length && isDigitCode(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigitCode(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigitCode(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return sign(firstDiff);
  }
  return 0;
}

export const dpkg = {
  id: 'dpkg',
  isValid(version: string): boolean {
    return VALID.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    return compareDigits(x.epoch, y.epoch) || verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
  },
} satisfies VersionScheme;
