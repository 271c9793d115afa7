import type { VersionScheme } from '../types.js';
import { boundedCache, isDigitCode } from '../util.js';

/**
 * Alpine / Wolfi / Chainguard apk versions:
 * `number{.number}...{letter}{_suffix{number}}...{-r#}`, compared token by token as apk-tools does
 * (src/version.c `apk_version_compare` of apk-tools 2.x, the apk shipped in Alpine 3.x, Wolfi
 * and Chainguard images): pre-release suffixes `_alpha _beta _pre _rc` sort before the bare
 * release, post-release suffixes `_cvs _svn _git _hg _p` after it; a number after a dot that has
 * leading zeros is compared as a fraction (`1.02 < 1.1 < 1.2`); `-rN` is compared last.
 * apk-tools 3 orders a few versions differently (leading zeros compared as text, a digit after the
 * letter as in `6.6.2p1` made invalid, invalid versions sorting first); the 2.x order is the one
 * the generated osv-scalibr cases and apk-tools' own version.data agree with.
 *
 * Fallback for invalid versions: exactly apk-tools' own behaviour. Tokens are compared up to the
 * first invalid one; a version that runs into invalid text there sorts after the other one, whether
 * that one has ended or continues with a valid token (`1.0 < 1.0bc`); two versions invalid at the
 * same point compare equal.
 */
/** apk-tools token types, in the order the grammar allows them. */
const T = {
  Invalid: -1,
  DigitOrZero: 0,
  Digit: 1,
  Letter: 2,
  Suffix: 3,
  SuffixNo: 4,
  RevisionNo: 5,
  End: 6,
} as const;
type T = (typeof T)[keyof typeof T];

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** A cursor over one version string: the type of the next token and where it starts. */
interface Cursor {
  s: string;
  pos: number;
  type: T;
}

/** apk-tools `next_token`: classifies what follows the token just read. */
function nextToken(cur: Cursor): void {
  let n: T = T.Invalid;
  const { s, type } = cur;
  if (cur.pos >= s.length) {
    n = T.End;
  } else {
    const c = s.charCodeAt(cur.pos);
    if ((type === T.Digit || type === T.DigitOrZero) && isLower(c)) n = T.Letter;
    else if (type === T.Letter && isDigitCode(c)) n = T.Digit;
    else if (type === T.Suffix && isDigitCode(c)) n = T.SuffixNo;
    else {
      if (c === 46) n = T.DigitOrZero; // '.'
      else if (c === 95) n = T.Suffix; // '_'
      else if (c === 45 && cur.pos + 1 < s.length && s.charCodeAt(cur.pos + 1) === 114) {
        n = T.RevisionNo; // '-r'
        cur.pos++;
      }
      cur.pos++;
    }
  }
  if (n < type) {
    const allowed =
      (n === T.DigitOrZero && type === T.Digit) ||
      (n === T.Suffix && type === T.SuffixNo) ||
      (n === T.Digit && type === T.Letter);
    if (!allowed) n = T.Invalid;
  }
  cur.type = n;
}

/** A digit run's value; beyond 15 significant digits a bigint (compares with numbers by value). */
function digitsValue(s: string): number | bigint {
  const significant = s.replace(/^0+/, '');
  if (significant.length === 0) return 0;
  return significant.length > 15 ? BigInt(significant) : Number(significant);
}

function matchSuffix(s: string, pos: number, list: readonly string[]): number {
  for (let k = 0; k < list.length; k++) {
    const word = list[k];
    if (word !== undefined && s.startsWith(word, pos)) return k;
  }
  return -1;
}

/** apk-tools `get_token`: reads the token at the cursor, returns its value and advances. */
function getToken(cur: Cursor): number | bigint {
  const { s } = cur;
  if (cur.pos >= s.length) {
    cur.type = T.End;
    return 0;
  }
  let value: number | bigint = 0;
  let i = cur.pos;
  let following: T = T.Invalid;
  switch (cur.type) {
    case T.DigitOrZero:
      // Leading zeros after a dot: the component is compared as a fraction.
      while (i < s.length && s.charCodeAt(i) === 48) i++;
      following = T.Digit;
      value = -(i - cur.pos);
      break;
    case T.Digit:
    case T.SuffixNo:
    case T.RevisionNo:
      while (i < s.length && isDigitCode(s.charCodeAt(i))) i++;
      value = digitsValue(s.slice(cur.pos, i));
      break;
    case T.Letter:
      value = s.charCodeAt(i);
      i++;
      break;
    case T.Suffix: {
      const pre = matchSuffix(s, i, PRE_SUFFIXES);
      if (pre >= 0) {
        value = pre - PRE_SUFFIXES.length;
        i += (PRE_SUFFIXES[pre] ?? '').length;
        break;
      }
      const post = matchSuffix(s, i, POST_SUFFIXES);
      if (post >= 0) {
        value = post;
        i += (POST_SUFFIXES[post] ?? '').length;
        break;
      }
      cur.type = T.Invalid;
      return -1;
    }
    default:
      cur.type = T.Invalid;
      return -1;
  }
  cur.pos = i;
  if (cur.pos >= s.length) cur.type = T.End;
  else if (following !== T.Invalid) cur.type = following;
  else nextToken(cur);
  return value;
}

/** apk-tools `apk_version_compare`: -1, 0 (EQUAL) or 1. */
function apkCompare(a: string, b: string): number {
  const x: Cursor = { s: a, pos: 0, type: T.Digit };
  const y: Cursor = { s: b, pos: 0, type: T.Digit };
  let xv: number | bigint = 0;
  let yv: number | bigint = 0;
  while (x.type === y.type && x.type !== T.End && x.type !== T.Invalid && xv === yv) {
    xv = getToken(x);
    yv = getToken(y);
  }
  if (xv < yv) return -1;
  if (xv > yv) return 1;
  if (x.type === y.type) return 0;
  // Leading components are equal: the longer version is greater unless it continues with a
  // pre-release suffix.
  if (x.type === T.Suffix && getToken({ ...x }) < 0) return -1;
  if (y.type === T.Suffix && getToken({ ...y }) < 0) return 1;
  if (x.type > y.type) return -1;
  if (y.type > x.type) return 1;
  return 0;
}

function validate(version: string): boolean {
  const cur: Cursor = { s: version, pos: 0, type: T.Digit };
  while (cur.type !== T.End && cur.type !== T.Invalid) getToken(cur);
  return cur.type === T.End;
}

const valid = boundedCache(validate);

export const apk = {
  id: 'apk',
  isValid(version: string): boolean {
    return valid(version);
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    return apkCompare(a, b);
  },
} satisfies VersionScheme;
