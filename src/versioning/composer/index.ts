import type { VersionScheme } from '../types.js';
import { boundedCache, compareDigits, isAlphaCode, isDigitCode } from '../util.js';

/**
 * Composer / Packagist versions: normalised as Composer's VersionParser does (leading `v` dropped,
 * numeric part padded to four components: `1.0` = `1.0.0.0`), then compared as PHP's `version_compare` does (ext/standard/versioning.c): `-`, `_`,
 * `+` and other non-alphanumerics become `.`, a `.` is inserted between digits and letters, parts
 * compare numerically or by their special form `dev < alpha = a < beta = b < RC = rc < # (number) <
 * pl = p`, unknown words sorting before `dev`; when one version has more parts, a number there
 * makes it greater, a word is compared against a number.
 *
 * Fallback for invalid versions: version_compare accepts every string, and so does this.
 */
function canonicalize(v: string): string {
  if (v.length === 0) return v;
  let out = v[0] ?? '';
  let last = v.charCodeAt(0);
  for (let i = 1; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const prevDot = out.charCodeAt(out.length - 1) === 46;
    const isDig = isDigitCode(c);
    const isNdig = !isDig && c !== 46;
    const lastDig = isDigitCode(last);
    const lastNdig = !lastDig && last !== 46;
    if (c === 45 || c === 95 || c === 43) {
      if (!prevDot) out += '.';
    } else if ((lastNdig && isDig) || (lastDig && isNdig)) {
      if (!prevDot) out += '.';
      out += v[i] ?? '';
    } else if (!isDig && !isAlphaCode(c)) {
      if (!prevDot) out += '.';
    } else {
      out += v[i] ?? '';
    }
    last = c;
  }
  return out;
}

const FORMS: Array<[string, number]> = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];

function formRank(part: string): number {
  for (const [name, rank] of FORMS) if (part.startsWith(name)) return rank;
  return -1;
}

function compareForms(a: string, b: string): number {
  return Math.sign(formRank(a) - formRank(b));
}

const NUMBER = '#N#';

function startsWithDigit(s: string): boolean {
  return s.length > 0 && isDigitCode(s.charCodeAt(0));
}

/** PHP splits a canonical version at dots; strings starting with `#` are used as they are. */
function partsOf(v: string): string[] {
  return (v.startsWith('#') ? v : canonicalize(v)).split('.');
}

/**
 * Composer's VersionParser::normalize, the part that matters for ordering: a leading `v` goes and a
 * classical version's numeric part is padded to four components (`1.0` → `1.0.0.0`), so `1.0`,
 * `1.0.0` and `1.0.0.0` are the same version.
 */
function normalize(input: string): string {
  const v = input.trim().replace(/^[vV](?=\d)/, '');
  const m = /^(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?(?!\d|\.\d)/.exec(v);
  if (!m) return v;
  const [head, major, minor = '.0', patch = '.0', build = '.0'] = m;
  return `${major}${minor}${patch}${build}${v.slice(head.length)}`;
}

const cachedParts = boundedCache((v: string) => partsOf(normalize(v)));

/** PHP `php_version_compare` on already split versions. */
function compareParts(p1: readonly string[], p2: readonly string[]): number {
  const n = Math.min(p1.length, p2.length);
  for (let k = 0; k < n; k++) {
    const x = p1[k] ?? '';
    const y = p2[k] ?? '';
    let d: number;
    const xd = startsWithDigit(x);
    const yd = startsWithDigit(y);
    if (xd && yd) d = compareDigits(leadingDigits(x), leadingDigits(y));
    else if (!xd && !yd) d = compareForms(x, y);
    else d = xd ? compareForms(NUMBER, y) : compareForms(x, NUMBER);
    if (d !== 0) return d;
  }
  // One version has more parts: a number there makes it greater; a word is compared (as a whole
  // new version string, as PHP does) against a number.
  if (p1.length > n) {
    const rest = p1.slice(n);
    return startsWithDigit(rest[0] ?? '') ? 1 : phpVersionCompare(rest.join('.'), NUMBER);
  }
  if (p2.length > n) {
    const rest = p2.slice(n);
    return startsWithDigit(rest[0] ?? '') ? -1 : phpVersionCompare(NUMBER, rest.join('.'));
  }
  return 0;
}

/** PHP `php_version_compare` on raw strings. */
function phpVersionCompare(orig1: string, orig2: string): number {
  if (orig1 === '' || orig2 === '') {
    if (orig1 === '' && orig2 === '') return 0;
    return orig1 === '' ? -1 : 1;
  }
  return compareParts(partsOf(orig1), partsOf(orig2));
}

function leadingDigits(s: string): string {
  let i = 0;
  while (i < s.length && isDigitCode(s.charCodeAt(i))) i++;
  return s.slice(0, i);
}

const VALID = /^v?\d+(?:\.\d+){0,3}(?:[._-]?(?:stable|beta|b|rc|alpha|a|patch|pl|p)(?:[.-]?\d+)*)?(?:[.-]?dev)?$/i;

export const composer = {
  id: 'composer',
  isValid(version: string): boolean {
    return VALID.test(version.trim());
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = cachedParts(a);
    const y = cachedParts(b);
    // An empty version sorts before everything (PHP's first check).
    if (x.length === 1 && x[0] === '') return y.length === 1 && y[0] === '' ? 0 : -1;
    if (y.length === 1 && y[0] === '') return 1;
    return compareParts(x, y);
  },
} satisfies VersionScheme;
