import { describe, expect, it } from 'vitest';
import { maven } from './index.js';

describe('maven compare', () => {
  it.each([
    ['2.17.0', '>', '2.16.1'],
    ['2.15.0-rc1', '<', '2.15.0'],
    ['1.0-alpha-1', '<', '1.0-beta-1'],
    ['1.0-SNAPSHOT', '<', '1.0'],
    ['1.0', '=', '1.0.0'],
    ['1.0.RELEASE', '=', '1.0'],
    ['1.0.Final', '=', '1.0'],
    ['1.0-sp1', '>', '1.0'],
    ['1.0-cr1', '=', '1.0-rc1'],
    ['5.3.18', '<', '5.3.20'],
    ['31.1-jre', '>', '31.1-android'],
    ['9.4.48.v20220622', '<', '9.4.51.v20230217'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(maven.compare(a, b))).toBe(want);
    expect(Math.sign(maven.compare(b, a))).toBe(-want || 0);
  });
});
