import { describe, expect, it } from 'vitest';
import { hackage } from './index.js';

describe('hackage compare', () => {
  it.each([
    ['0.1.0', '<', '0.1.0.0'],
    ['2.0.1.1', '>', '2.0.1'],
    ['1.2.9', '<', '1.2.10'],
    ['0.10.5.0', '>', '0.9.99'],
    ['1.0', '=', '1.0'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(hackage.compare(a, b))).toBe(want);
    expect(Math.sign(hackage.compare(b, a))).toBe(-want || 0);
  });
});
