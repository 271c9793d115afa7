import { describe, expect, it } from 'vitest';
import { rubygems } from './index.js';

describe('rubygems compare', () => {
  it.each([
    ['7.0.4', '<', '7.0.4.1'],
    ['7.0.4.rc1', '<', '7.0.4'],
    ['1.13.10', '>', '1.13.9'],
    ['1.0', '=', '1.0.0'],
    ['1.0.a', '<', '1.0'],
    ['1.0.0-beta', '<', '1.0.0'],
    ['2.7.0.pre', '<', '2.7.0'],
    ['1.14.3-x86_64-linux', '<', '1.14.3'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(rubygems.compare(a, b))).toBe(want);
    expect(Math.sign(rubygems.compare(b, a))).toBe(-want || 0);
  });
});
