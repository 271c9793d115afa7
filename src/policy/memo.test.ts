import { describe, expect, it } from 'vitest';
import { createOutcomeMemo, GENERATION_CHARS, MAX_FRAGMENT_CHARS, SEEN_ONCE_MAX } from './memo.js';

/** A fragment of `chars` characters, distinct per tag. */
const fragment = (tag: string, chars: number): string => `${tag}:`.padEnd(chars, 'x');

describe('outcome memo interner', () => {
  it('numbers a fragment met again, per space, and refuses fragments over the limit', () => {
    const memo = createOutcomeMemo<string>(16);
    // Met once: remembered by its hash only, nothing kept.
    expect(memo.intern('{"app":"web"}', 'json')).toBe(-1);
    expect(memo.internedChars).toBe(0);
    const a = memo.intern('{"app":"web"}', 'json');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(memo.intern('{"app":"web"}', 'json')).toBe(a);
    expect(memo.intern('{"app":"web"}', 'other')).toBe(-1);
    expect(memo.intern('{"app":"web"}', 'other')).not.toBe(a);
    // Derived fragments (made of interned numbers) are numbered at once.
    expect(memo.intern(`c:${a}`, 'other', true)).toBeGreaterThanOrEqual(0);
    expect(memo.intern(fragment('big', MAX_FRAGMENT_CHARS + 1), 'json')).toBe(-1);
    expect(memo.intern(fragment('big', MAX_FRAGMENT_CHARS + 1), 'json')).toBe(-1);
  });

  it('keeps nothing of a stream of values met once each (a StatefulSet pod\'s own labels)', () => {
    const memo = createOutcomeMemo<string>(16);
    for (let i = 0; i < 3 * SEEN_ONCE_MAX; i++) expect(memo.intern(`{"pod-index":"${i}"}`, 'json')).toBe(-1);
    expect(memo.internedChars).toBe(0);
  });

  it('keeps the number of a fragment still in use when a generation fills, and the outcomes keyed on it', () => {
    const memo = createOutcomeMemo<string>(4096);
    const twice = (text: string): number => {
      memo.intern(text, 'json');
      return memo.intern(text, 'json');
    };
    const hot = twice('{"containers":["web"]}');
    memo.set(0, `Pod,${hot}`, 'allowed');
    const cold = twice('{"pod-index":"0"}');
    // Fill the newer generation with fragments met twice, meeting the hot fragment now and then as a
    // stream of pods does.
    const chunk = 64 * 1024;
    for (let i = 0; i < (3 * GENERATION_CHARS) / chunk; i++) {
      twice(fragment(`twice-${i}`, chunk));
      if (i % 8 === 0) expect(memo.intern('{"containers":["web"]}', 'json')).toBe(hot);
    }
    expect(memo.intern('{"containers":["web"]}', 'json')).toBe(hot);
    expect(memo.get(0, `Pod,${hot}`)).toBe('allowed');
    // Not met for two generations: dropped, and a new number (its old keys can no longer match).
    expect(twice('{"pod-index":"0"}')).not.toBe(cold);
    expect(memo.internedChars).toBeLessThanOrEqual(2 * GENERATION_CHARS);
  });

  it('evicts the oldest outcome beyond its size', () => {
    const memo = createOutcomeMemo<number>(2);
    memo.set(0, 'a', 1);
    memo.set(1, 'b', 2);
    memo.set(0, 'c', 3);
    expect([memo.get(0, 'a'), memo.get(1, 'b'), memo.get(0, 'c'), memo.size]).toEqual([undefined, 2, 3, 2]);
  });
});
