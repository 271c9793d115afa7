import { describe, expect, it } from 'vitest';
import { rpm } from './index.js';

describe('rpm compare', () => {
  it.each([
    ['3.0.7-16.el9_2', '<', '3.0.7-18.el9_2'],
    ['1:3.0.7-18.el9_2', '>', '3.0.7-27.el9'],
    ['2.28-225.el9', '<', '2.28-225.el9_3.1'],
    ['4.18.0-513.5.1.el8_9', '>', '4.18.0-513.el8'],
    ['1.0~rc1-1', '<', '1.0-1'],
    ['1.0^git1-1', '>', '1.0-1'],
    ['1.0^git1-1', '<', '1.0.1-1'],
    ['2.9.13-5.el9_2', '<', '2.9.13-6.el9_4'],
    ['1.0', '<', '1.0-1'],
    ['1.0.a', '<', '1.0.1'],
    ['0:1.2-1', '=', '1.2-1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(rpm.compare(a, b))).toBe(want);
    expect(Math.sign(rpm.compare(b, a))).toBe(-want || 0);
  });
});
