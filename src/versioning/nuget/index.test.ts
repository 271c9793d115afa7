import { describe, expect, it } from 'vitest';
import { nuget } from './index.js';

describe('nuget compare', () => {
  it.each([
    ['13.0.1', '<', '13.0.3'],
    ['1.0', '=', '1.0.0.0'],
    ['4.3.0.1', '>', '4.3.0'],
    ['6.0.0-preview.7.21377.19', '<', '6.0.0-rc.1.21451.13'],
    ['1.0.0-RC1', '=', '1.0.0-rc1'],
    ['1.0.0+abc', '=', '1.0.0'],
    ['8.0.0-rc.2', '<', '8.0.0'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(nuget.compare(a, b))).toBe(want);
    expect(Math.sign(nuget.compare(b, a))).toBe(-want || 0);
  });
});
