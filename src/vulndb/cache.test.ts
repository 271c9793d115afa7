import { describe, expect, it } from 'vitest';
import { GenerationCache, SecondRequestCache } from './cache.js';

describe('GenerationCache', () => {
  it.each<[string, (string | [string, number])[], Record<string, number | undefined>]>([
    ['keeps what fits in the young generation', [['debian:12\u0000openssl', 1], ['npm\u0000lodash', 2]], { 'debian:12\u0000openssl': 1, 'npm\u0000lodash': 2 }],
    [
      'keeps the previous generation after one turnover',
      [['a', 1], ['b', 2], ['c', 3]],
      { a: 1, b: 2, c: 3 },
    ],
    [
      'drops the oldest generation after two turnovers',
      [['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]],
      { a: undefined, b: undefined, c: 3, d: 4, e: 5 },
    ],
    [
      'an old entry read again moves to the young generation and survives the next turnover',
      [['a', 1], ['b', 2], ['c', 3], 'a', ['d', 4], ['e', 5]],
      { a: 1, b: undefined, c: undefined, d: 4, e: 5 },
    ],
  ])('%s', (_name, steps, expected) => {
    const cache = new GenerationCache<number>(2);
    for (const step of steps) {
      if (typeof step === 'string') cache.get(step);
      else cache.set(step[0], step[1]);
    }
    const seen: Record<string, number | undefined> = {};
    for (const key of Object.keys(expected)) seen[key] = cache.get(key);
    expect(seen).toEqual(expected);
  });
});

describe('SecondRequestCache', () => {
  it.each<[string, [string, number][], Record<string, number | undefined>]>([
    ['keeps nothing the first time a key is set', [['a', 1], ['b', 2]], { a: undefined, b: undefined }],
    ['keeps a value set for the second time', [['a', 1], ['b', 2], ['a', 3]], { a: 3, b: undefined }],
    ['forgets a first request two turnovers of keys later', [['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5], ['a', 6]], { a: undefined, e: undefined }],
  ])('%s', (_name, sets, expected) => {
    const cache = new SecondRequestCache<number>(2);
    for (const [key, value] of sets) cache.set(key, value);
    const seen: Record<string, number | undefined> = {};
    for (const key of Object.keys(expected)) seen[key] = cache.get(key);
    expect(seen).toEqual(expected);
  });
});
