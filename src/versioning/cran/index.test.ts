import { describe, expect, it } from 'vitest';
import { cran } from './index.js';

describe('cran compare', () => {
  it.each([
    ['1.4-1', '<', '1.4-10'],
    ['1.0-2', '=', '1.0.2'],
    ['0.9', '<', '0.75'],
    ['1.0', '<', '1.0.0'],
    ['3.6.0', '>', '3.5.17'],
    ['0.01', '=', '0.1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(cran.compare(a, b))).toBe(want);
    expect(Math.sign(cran.compare(b, a))).toBe(-want || 0);
  });
});
