import { parse as pepParse } from '@renovatebot/pep440';
import type { VersionScheme } from '../types.js';
import { boundedCache, compareStrings } from '../util.js';

/**
 * Python package versions (PEP 440). `@renovatebot/pep440` parses (normalising `1.0-alpha1` to
 * `1.0a1`, `1.0-1` to `1.0.post1`, case, separators); the order is `packaging`'s sort key, computed
 * once per version and cached: epoch, release without trailing zeros, then pre-release (a bare
 * `.devN` before any pre-release, no pre-release after all of them), post-release (none first),
 * dev release (none last), local version (none first; numeric segments after alphanumeric ones).
 *
 * Fallback for invalid versions (not PEP 440, e.g. legacy `1.0-foo-bar`): they sort before every
 * valid version, as `packaging`'s LegacyVersion did, and among themselves by plain string order.
 */
type Part = number | string;

/** [-Infinity | number | string ...] keys compared like Python tuples. */
interface Key {
  epoch: number;
  release: number[];
  pre: Part[];
  post: number;
  dev: number;
  local: Part[][];
}

const PRE_ORDER: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

function toKey(version: string): Key | null {
  const p = pepParse(version);
  if (p === null) return null;
  const release = [...p.release];
  while (release.length > 0 && release[release.length - 1] === 0) release.pop();
  let pre: Part[];
  if (!p.pre && !p.post && p.dev) pre = [-Infinity];
  else if (!p.pre) pre = [Infinity];
  else pre = [PRE_ORDER[String(p.pre[0])] ?? 0, Number(p.pre[1])];
  const post = p.post ? Number(p.post[1]) : -Infinity;
  const dev = p.dev ? Number(p.dev[1]) : Infinity;
  // The library's typings call `local` a string while it returns segments at run time; read the
  // local label from the version text instead (PEP 440: after `+`, split on `.`, `-`, `_`).
  const plus = version.indexOf('+');
  const local: Part[][] =
    plus < 0
      ? [[-Infinity]]
      : version
          .slice(plus + 1)
          .trim()
          .toLowerCase()
          .split(/[._-]/)
          .map((seg) => (/^\d+$/.test(seg) ? [Number(seg), ''] : [-Infinity, seg]));
  return { epoch: p.epoch, release, pre, post, dev, local };
}

function comparePart(a: Part | undefined, b: Part | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  // Mixed kinds only meet as -Infinity vs a string (local segments): the number sorts first.
  return typeof a === 'number' ? -1 : 1;
}

function compareList(a: readonly Part[], b: readonly Part[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = comparePart(a[i], b[i]);
    if (d !== 0) return d;
  }
  return Math.sign(a.length - b.length);
}

function compareKeys(x: Key, y: Key): number {
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const byRelease = compareList(x.release, y.release) || compareList(x.pre, y.pre);
  if (byRelease !== 0) return byRelease;
  if (x.post !== y.post) return x.post < y.post ? -1 : 1;
  if (x.dev !== y.dev) return x.dev < y.dev ? -1 : 1;
  const n = Math.min(x.local.length, y.local.length);
  for (let i = 0; i < n; i++) {
    const d = compareList(x.local[i] ?? [], y.local[i] ?? []);
    if (d !== 0) return d;
  }
  return Math.sign(x.local.length - y.local.length);
}

const keyOf = boundedCache(toKey);

export const pep440 = {
  id: 'pep440',
  isValid(version: string): boolean {
    return keyOf(version) !== null;
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    const x = keyOf(a);
    const y = keyOf(b);
    if (x !== null && y !== null) return compareKeys(x, y);
    if (x !== y) return x !== null ? 1 : -1;
    return compareStrings(a, b);
  },
} satisfies VersionScheme;
