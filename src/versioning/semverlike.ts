import { compareDigits, compareStrings, isDigitCode, isDigits } from './util.js';

/**
 * A tolerant "semver-like" reading shared by the schemes whose versions look like semver but may
 * not be (NuGet's 4-part versions, Dart, and the fallback of semver/go): a leading `v`, any number
 * of dot-separated numeric components, then everything from the first other character on as the
 * "tail" (`-prerelease+build`). Components beyond `maxComponents` are appended to the tail, so
 * `1.1.3.4.5` read with 3 components is `1.1.3` with tail `.4.5`.
 */
export interface SemverLike {
  components: string[];
  tail: string;
}

export function parseSemverLike(input: string, maxComponents: number): SemverLike {
  const s = input.startsWith('v') ? input.slice(1) : input;
  const components: string[] = [];
  let i = 0;
  let start = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigitCode(c)) continue;
    if (i > start) components.push(s.slice(start, i));
    if (c === 46) {
      start = i + 1;
      continue;
    }
    break;
  }
  let tail = '';
  if (i >= s.length) {
    if (i > start) components.push(s.slice(start, i));
  } else {
    tail = s.slice(i);
  }
  if (components.length > maxComponents) {
    const extra = components.splice(maxComponents);
    tail += extra.map((d) => `.${d}`).join('');
  }
  return { components, tail };
}

/** Numeric components compared as unbounded integers, the shorter padded with zeros. */
export function compareComponents(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const d = compareDigits(a[k] ?? '0', b[k] ?? '0');
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Semver precedence of two tails (`-pre.release+build`): build metadata is ignored, no
 * pre-release sorts after any pre-release, then identifiers compare numerically when both are
 * digits, digits before text, text in ASCII order, and a longer list wins a tie.
 */
export function comparePrerelease(tailA: string, tailB: string): number {
  const a = stripPre(tailA);
  const b = stripPre(tailB);
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const x = a.split('.');
  const y = b.split('.');
  const n = Math.min(x.length, y.length);
  for (let k = 0; k < n; k++) {
    const p = x[k] ?? '';
    const q = y[k] ?? '';
    const pn = isDigits(p);
    const qn = isDigits(q);
    let d: number;
    if (pn && qn) d = compareDigits(p, q);
    else if (!pn && !qn) d = compareStrings(p, q);
    else d = pn ? -1 : 1;
    if (d !== 0) return d;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

function stripPre(tail: string): string {
  const plus = tail.indexOf('+');
  const pre = plus >= 0 ? tail.slice(0, plus) : tail;
  return pre.startsWith('-') ? pre.slice(1) : pre;
}

/** The build metadata after the first `+` of a tail, or ''. */
export function buildOf(tail: string): string {
  const plus = tail.indexOf('+');
  return plus >= 0 ? tail.slice(plus + 1) : '';
}
