import { describe, expect, it } from 'vitest';
import { pep440 } from './index.js';

describe('pep440 compare', () => {
  it.each([
    ['2.31.0', '>', '2.28.2'],
    ['1.0a1', '<', '1.0'],
    ['1.0.post1', '>', '1.0'],
    ['1.0.dev1', '<', '1.0a1'],
    ['1!0.1', '>', '2.0'],
    ['1.0', '=', '1.0.0'],
    ['1.0-alpha1', '=', '1.0a1'],
    ['2.0.0rc1', '<', '2.0.0'],
    ['1.0+local.1', '>', '1.0'],
    ['not-a-version', '<', '0.0.1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(pep440.compare(a, b))).toBe(want);
    expect(Math.sign(pep440.compare(b, a))).toBe(-want || 0);
  });
});
