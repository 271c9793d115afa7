import type { VersionScheme } from '../types.js';
import { boundedCache, compareDigits, compareStrings } from '../util.js';

/**
 * RubyGems versions, compared as `Gem::Version#<=>`: `-` becomes `.pre.`, the segments are the runs
 * of digits and of letters, trailing zeros are dropped from the numeric part and from the
 * pre-release part (`canonical_segments`), and segment by segment a number sorts after a string
 * (so `1.0.a < 1.0`), numbers numerically, strings as text, missing segments counting as 0.
 *
 * Fallback for invalid versions (Gem::Version rejects e.g. `1..2` or spaces): the same segment scan
 * is applied to whatever the string contains, so every string has a place in the order.
 */
type Segment = string | { n: string };

function segments(input: string): Segment[] {
  const v = input.trim().replace(/-/g, '.pre.');
  const raw = v.match(/[0-9]+|[a-z]+/gi) ?? [];
  const all: Segment[] = raw.map((s) => (/^\d/.test(s) ? { n: s } : s));
  const firstString = all.findIndex((s) => typeof s === 'string');
  const numeric = firstString < 0 ? all : all.slice(0, firstString);
  const rest = firstString < 0 ? [] : all.slice(firstString);
  return [...dropTrailingZeros(numeric), ...dropTrailingZeros(rest)];
}

function isZero(s: Segment | undefined): boolean {
  return s !== undefined && typeof s !== 'string' && compareDigits(s.n, '0') === 0;
}

function dropTrailingZeros(list: Segment[]): Segment[] {
  let end = list.length;
  while (end > 0 && isZero(list[end - 1])) end--;
  return list.slice(0, end);
}

const parsed = boundedCache(segments);
const ZERO: Segment = { n: '0' };

const VALID = /^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$/;

export const rubygems = {
  id: 'rubygems',
  isValid(version: string): boolean {
    return VALID.test(version);
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = parsed(a);
    const y = parsed(b);
    const n = Math.max(x.length, y.length);
    for (let k = 0; k < n; k++) {
      const p = x[k] ?? ZERO;
      const q = y[k] ?? ZERO;
      if (typeof p === 'string') {
        if (typeof q !== 'string') return -1;
        const d = compareStrings(p, q);
        if (d !== 0) return d;
      } else {
        if (typeof q === 'string') return 1;
        const d = compareDigits(p.n, q.n);
        if (d !== 0) return d;
      }
    }
    return 0;
  },
} satisfies VersionScheme;
