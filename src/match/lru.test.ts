import { describe, expect, it } from 'vitest';
import { LruCache } from './lru.js';

describe('LruCache', () => {
  it.each<[string, (c: LruCache<number>) => void, Record<string, number | undefined>]>([
    ['keeps up to capacity', (c) => ['a', 'b'].forEach((k, i) => c.set(k, i)), { a: 0, b: 1 }],
    ['drops the least recently set', (c) => ['a', 'b', 'c'].forEach((k, i) => c.set(k, i)), { a: undefined, b: 1, c: 2 }],
    [
      'a read makes an entry recent',
      (c) => {
        c.set('a', 0);
        c.set('b', 1);
        c.get('a');
        c.set('c', 2);
      },
      { a: 0, b: undefined, c: 2 },
    ],
    [
      'setting a key again replaces it without growing',
      (c) => {
        c.set('a', 0);
        c.set('a', 5);
        c.set('b', 1);
      },
      { a: 5, b: 1 },
    ],
  ])('%s', (_title, act, expected) => {
    const cache = new LruCache<number>(2);
    act(cache);
    for (const [key, value] of Object.entries(expected)) expect(cache.get(key)).toBe(value);
    expect(cache.size).toBe(Object.values(expected).filter((v) => v !== undefined).length);
  });
});
