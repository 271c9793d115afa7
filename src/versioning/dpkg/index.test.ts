import { describe, expect, it } from 'vitest';
import { dpkg } from './index.js';

describe('dpkg compare', () => {
  it.each([
    ['1.1.1n-0+deb11u4', '>', '1.1.1n-0+deb11u3'],
    ['1.1.1n-0+deb11u4', '<', '1.1.1w-0+deb11u1'],
    ['2.36-9+deb12u4', '<', '2.36-9+deb12u10'],
    ['1:2.39.2-1.1', '>', '2.40.0-1'],
    ['7.88.1-10+deb12u5', '<', '7.88.1-10+deb12u6'],
    ['3.0.2-0ubuntu1.10', '<', '3.0.2-0ubuntu1.15'],
    ['2.35-0ubuntu3.1', '>', '2.35-0ubuntu3'],
    ['1.2.3~rc1-1', '<', '1.2.3-1'],
    ['1.2.3-1~bpo12+1', '<', '1.2.3-1'],
    ['1.0', '=', '1.0-0'],
    ['0:1.0-1', '=', '1.0-1'],
    ['1.0+dfsg-1', '>', '1.0-1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(dpkg.compare(a, b))).toBe(want);
    expect(Math.sign(dpkg.compare(b, a))).toBe(-want || 0);
  });
});
