import { describe, expect, it } from 'vitest';
import { composer } from './index.js';

describe('composer compare', () => {
  it.each([
    ['v5.4.21', '<', '5.4.22'],
    ['6.0.0-RC1', '<', '6.0.0'],
    ['1.0.0-beta2', '>', '1.0.0-alpha5'],
    ['1.0.0-dev', '<', '1.0.0-alpha1'],
    ['1.0.0-pl1', '>', '1.0.0'],
    ['V1.0.0', '=', 'v1.0.0'],
    ['10.4.1', '>', '9.5.20'],
    ['1.0', '=', '1.0.0'],
    ['v3.0', '>', 'v3.0.0-beta'],
    ['1.0.0rc2', '=', '1.0.0.rc2'],
    ['2.0.0-beta.1', '<', '2.0.0-RC1'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(composer.compare(a, b))).toBe(want);
    expect(Math.sign(composer.compare(b, a))).toBe(-want || 0);
  });
});
