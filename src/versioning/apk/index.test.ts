import { describe, expect, it } from 'vitest';
import { apk } from './index.js';

describe('apk compare', () => {
  it.each([
    ['3.1.4-r5', '<', '3.1.4-r6'],
    ['1.36.1-r15', '<', '1.36.1-r29'],
    ['8.5.0-r0', '<', '8.9.1-r0'],
    ['1.2.3_rc1-r0', '<', '1.2.3-r0'],
    ['1.2.3_p1-r0', '>', '1.2.3-r0'],
    ['1.2.3_alpha2', '<', '1.2.3_beta1'],
    ['1.2.3_git20240101', '>', '1.2.3'],
    ['1.1.1w-r1', '>', '1.1.1v-r0'],
    ['1.02', '<', '1.1'],
    ['2.4.58-r0', '=', '2.4.58-r0'],
    ['0.0_git20240101000000000001', '<', '0.0_git20240101000000000002'],
    ['1.0_p0000000000000000001', '=', '1.0_p1'],
    ['1.0', '<', '1.0bc'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(apk.compare(a, b))).toBe(want);
    expect(Math.sign(apk.compare(b, a))).toBe(-want || 0);
  });
});
