import { describe, expect, it } from 'vitest';
import type { AffectedRange, CvssScore } from '../core/index.js';
import { decodeCvss, decodeRanges, encodeCvss, encodeRanges } from './codec.js';

describe('range codec', () => {
  it.each<[string, AffectedRange[], string]>([
    ['Debian fixed', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.7.1-1.2' }] }], '[["E","i","0","f","3.7.1-1.2"]]'],
    [
      'Go stdlib, two branches',
      [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }, { introduced: '1.21.0-0' }, { fixed: '1.21.3' }] }],
      '[["S","i","0","f","1.20.10","i","1.21.0-0","f","1.21.3"]]',
    ],
    [
      'last_affected and limit',
      [
        { type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { last_affected: '2.14.1' }] },
        { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { limit: '2.0.0' }] },
      ],
      '[["E","i","2.0-beta9","l","2.14.1"],["S","i","1.0.0","m","2.0.0"]]',
    ],
  ])('%s round-trips through %s', (_name, ranges, encoded) => {
    expect(encodeRanges(ranges)).toBe(encoded);
    expect(decodeRanges(encoded)).toEqual(ranges);
  });

  it('round-trips CVSS scores', () => {
    const scores: CvssScore[] = [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 7.5, source: 'ghsa' }];
    expect(decodeCvss(encodeCvss(scores))).toEqual(scores);
    expect(encodeCvss([])).toBeNull();
    expect(decodeCvss(null)).toEqual([]);
  });
});
