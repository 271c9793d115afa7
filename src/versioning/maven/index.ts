import type { VersionScheme } from '../types.js';
import { boundedCache, compareDigits, compareStrings, isDigitCode, isDigits } from '../util.js';

/**
 * Maven versions with the semantics of `org.apache.maven.artifact.versioning.ComparableVersion`:
 * the version is split into items at `.`, `-` and digit/letter transitions (a transition acts like
 * `-`), each item keeping the separator before it; trailing "null" items (`0`, `''`, `final`,
 * `ga`, `release`) are trimmed before each `-`; then items compare pairwise, the shorter version
 * padded with null items. Qualifiers order as `alpha < beta < milestone < rc = cr < snapshot <
 * '' = ga = final = release < sp`, unknown qualifiers after those (alphabetically), numbers after
 * qualifiers; `a1`, `b1`, `m1` abbreviate alpha/beta/milestone. Case-insensitive.
 *
 * Fallback for invalid versions: ComparableVersion accepts every string, and so does this.
 */
type Prefix = '.' | '-';

interface Item {
  prefix: Prefix;
  value: string;
  numeric: boolean;
  /** A padding item standing in for a missing one. */
  isNull: boolean;
}

const KEYWORDS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];

function keywordRank(value: string): number {
  const i = KEYWORDS.indexOf(value);
  return i < 0 ? KEYWORDS.length : i;
}

function item(prefix: Prefix, value: string, isNull = false): Item {
  return { prefix, value, numeric: isDigits(value), isNull };
}

function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  return i === 0 ? digits : digits.slice(i);
}

/** The canonical value of one item; `abbreviated` when a number follows it directly (`a1`). */
function normalise(raw: string, numeric: boolean, abbreviated: boolean): string {
  if (raw === '') return '0';
  if (numeric) return stripZeros(raw);
  switch (raw) {
    case 'cr':
      return 'rc';
    case 'ga':
    case 'final':
    case 'release':
      return '';
    case 'a':
      return abbreviated ? 'alpha' : raw;
    case 'b':
      return abbreviated ? 'beta' : raw;
    case 'm':
      return abbreviated ? 'milestone' : raw;
    default:
      return raw;
  }
}

/**
 * Splits at '.', '-' and digit/letter transitions in one pass. Each item keeps the separator
 * before it ('-' for a transition); the first item gets '.', and as both versions always have a
 * first item, it only ever meets another first item.
 */
function parse(input: string): Item[] {
  const v = input.trim().toLowerCase();
  const items: Item[] = [];
  let prefix: Prefix = '.';
  let start = 0;
  for (let i = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : -1;
    if (c === 46 || c === 45 || c === -1) {
      // '.', '-' or the end closes the current item (an empty one stands for 0).
      const raw = v.slice(start, i);
      const numeric = raw.length > 0 && isDigitCode(raw.charCodeAt(0));
      const value = normalise(raw, numeric, false);
      items.push({ prefix, value, numeric: numeric || value === '0', isNull: false });
      prefix = c === 45 ? '-' : '.';
      start = i + 1;
    } else if (i > start && isDigitCode(c) !== isDigitCode(v.charCodeAt(i - 1))) {
      // A digit/letter transition: the item so far ends here and the next one is a '-' item.
      const raw = v.slice(start, i);
      const numeric = isDigitCode(raw.charCodeAt(0));
      items.push({ prefix, value: normalise(raw, numeric, true), numeric, isNull: false });
      prefix = '-';
      start = i;
    }
  }
  // Trim trailing null items, at the end and before each remaining '-'.
  let i = items.length - 1;
  while (i > 0) {
    const it = items[i];
    if (it !== undefined && (it.value === '0' || it.value === '')) {
      items.splice(i, 1);
      i--;
      continue;
    }
    while (i >= 0 && items[i]?.prefix !== '-') i--;
    i--;
  }
  return items;
}

const parsed = boundedCache(parse);

function nullFor(other: Item): Item {
  if (other.prefix === '.') return item('.', other.value === 'sp' ? '' : '0', true);
  return item('-', '', true);
}

function prefixRank(it: Item): number {
  if (it.numeric) return it.prefix === '-' ? 2 : 3;
  return it.prefix === '-' ? 1 : 0;
}

/** Order of two differing items. */
function compareItems(x: Item, y: Item): number {
  if (x.prefix !== y.prefix) return prefixRank(x) < prefixRank(y) ? -1 : 1;
  if (x.numeric && y.numeric) return compareDigits(x.value, y.value);
  if (x.numeric && !x.isNull) return 1;
  if (y.numeric && !y.isNull) return -1;
  const rx = keywordRank(x.value);
  const ry = keywordRank(y.value);
  if (rx === KEYWORDS.length && ry === KEYWORDS.length) return compareStrings(x.value, y.value);
  return rx < ry ? -1 : rx > ry ? 1 : 0;
}

function compareParsed(a: Item[], b: Item[]): number {
  const n = Math.max(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const ai = a[k];
    const bi = b[k];
    const x = ai ?? (bi === undefined ? undefined : nullFor(bi));
    const y = bi ?? (ai === undefined ? undefined : nullFor(ai));
    if (x === undefined || y === undefined) return 0;
    if (x.prefix === y.prefix && x.value === y.value) continue;
    const d = compareItems(x, y);
    if (d !== 0) return d;
  }
  return 0;
}

export const maven = {
  id: 'maven',
  isValid(version: string): boolean {
    return version.trim().length > 0;
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    return compareParsed(parsed(a), parsed(b));
  },
} satisfies VersionScheme;
