import { describe, expect, it } from 'vitest';
import { pub } from './index.js';

describe('pub compare', () => {
  it.each([
    ['1.0.0', '<', '1.0.1'],
    ['1.0.0-dev.1', '<', '1.0.0'],
    ['2.0.0-nullsafety.0', '<', '2.0.0'],
    ['1.0.0+1', '<', '1.0.0+2'],
    ['1.0.0+1', '>', '1.0.0'],
    ['0.13.6', '<', '1.0.0'],
  ] as const)('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(Math.sign(pub.compare(a, b))).toBe(want);
    expect(Math.sign(pub.compare(b, a))).toBe(-want || 0);
  });
});
