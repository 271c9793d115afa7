import { describe, expect, it } from 'vitest';
import { semver } from './index.js';

describe('semver compare', () => {
  it.each([
    ['4.17.20', '<', '4.17.21'],
    ['1.0.0-alpha', '<', '1.0.0-alpha.1'],
    ['1.0.0-beta.11', '>', '1.0.0-beta.2'],
    ['1.0.0-rc.1', '<', '1.0.0'],
    ['v2.0.0', '=', '2.0.0'],
    ['1.2.3+build.5', '=', '1.2.3+build.9'],
    ['0.10.0', '>', '0.9.9'],
    ['99999999999999999999.0.0', '>', '1.0.0'],
    ['1.0', '<', '1.0.1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(semver.compare(a, b))).toBe(want);
    expect(Math.sign(semver.compare(b, a))).toBe(-want || 0);
  });
});
