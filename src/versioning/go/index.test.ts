import { describe, expect, it } from 'vitest';
import { go } from './index.js';

describe('go compare', () => {
  it.each([
    ['v1.2.3', '<', 'v1.10.0'],
    ['v2.0.0+incompatible', '=', 'v2.0.0'],
    ['v0.0.0-20220715151400-c0bba94af5f8', '<', 'v0.0.0-20220722155217-630584e8d5aa'],
    ['v0.0.0-20220715151400-c0bba94af5f8', '<', 'v0.1.0'],
    ['v1.2.4-0.20220101000000-abcdefabcdef', '>', 'v1.2.3'],
    ['v1.2.4-0.20220101000000-abcdefabcdef', '<', 'v1.2.4'],
    ['go1.20.4', '=', '1.20.4'],
    ['go1.21rc2', '<', '1.21.0'],
    ['go1.21rc2', '>', 'go1.21rc1'],
    ['go1.20', '=', '1.20.0'],
    ['1.19.13', '<', 'go1.20'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(go.compare(a, b))).toBe(want);
    expect(Math.sign(go.compare(b, a))).toBe(-want || 0);
  });
});
