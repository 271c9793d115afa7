import { describe, expect, it } from 'vitest';
import { createOutcomeMemo, GENERATION_CHARS, MAX_FRAGMENT_CHARS } from './memo.js';

/** A fragment of `chars` characters, distinct per tag. */
const fragment = (tag: string, chars: number): string => `${tag}:`.padEnd(chars, 'x');

describe('outcome memo interner', () => {
  it('numbers a fragment once, per space, and refuses fragments over the limit', () => {
    const memo = createOutcomeMemo<string>(16);
    const a = memo.intern('{"app":"web"}', 'json');
    expect(memo.intern('{"app":"web"}', 'json')).toBe(a);
    expect(memo.intern('{"app":"web"}', 'other')).not.toBe(a);
    expect(memo.intern(fragment('big', MAX_FRAGMENT_CHARS + 1), 'json')).toBe(-1);
  });

  it('keeps the number of a fragment still in use when a generation fills, and the outcomes keyed on it', () => {
    const memo = createOutcomeMemo<string>(4096);
    const hot = memo.intern('{"containers":["web"]}', 'json');
    memo.set(0, `Pod,${hot}`, 'allowed');
    const cold = memo.intern('{"pod-index":"0"}', 'json');
    // Fill the newer generation with fragments met once (a StatefulSet pod's own labels), meeting the
    // hot fragment now and then as a stream of pods does.
    const chunk = 64 * 1024;
    for (let i = 0; i < (3 * GENERATION_CHARS) / chunk; i++) {
      memo.intern(fragment(`once-${i}`, chunk), 'json');
      if (i % 8 === 0) expect(memo.intern('{"containers":["web"]}', 'json')).toBe(hot);
    }
    expect(memo.intern('{"containers":["web"]}', 'json')).toBe(hot);
    expect(memo.get(0, `Pod,${hot}`)).toBe('allowed');
    // Not met for two generations: dropped, and a new number (its old keys can no longer match).
    expect(memo.intern('{"pod-index":"0"}', 'json')).not.toBe(cold);
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
