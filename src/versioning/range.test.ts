import { describe, expect, it } from 'vitest';
import type { AffectedRange, RangeEvent } from '../core/index.js';
import { fixedVersionsFor, isAffected, rangeEnd } from './range.js';
import { SCHEMES } from './registry.js';
import type { SchemeId } from './types.js';

function range(...events: RangeEvent[]): AffectedRange {
  return { type: 'ECOSYSTEM', events };
}

interface Row {
  name: string;
  scheme: SchemeId;
  version: string;
  ranges: AffectedRange[];
  versions?: string[];
  affected: boolean;
  fixed: string[];
}

const rows: Row[] = [
  {
    name: 'introduced 0 / fixed, below the fix',
    scheme: 'semver',
    version: '4.17.20',
    ranges: [range({ introduced: '0' }, { fixed: '4.17.21' })],
    affected: true,
    fixed: ['4.17.21'],
  },
  {
    name: 'introduced 0 / fixed, at the fix',
    scheme: 'semver',
    version: '4.17.21',
    ranges: [range({ introduced: '0' }, { fixed: '4.17.21' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'below introduced',
    scheme: 'semver',
    version: '1.9.9',
    ranges: [range({ introduced: '2.0.0' }, { fixed: '2.3.1' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'at introduced',
    scheme: 'semver',
    version: '2.0.0',
    ranges: [range({ introduced: '2.0.0' }, { fixed: '2.3.1' })],
    affected: true,
    fixed: ['2.3.1'],
  },
  {
    name: 'unsorted events are sorted by the scheme',
    scheme: 'semver',
    version: '2.10.0',
    ranges: [range({ fixed: '2.11.0' }, { introduced: '2.9.0' })],
    affected: true,
    fixed: ['2.11.0'],
  },
  {
    name: 'introduced listed after fixed, version above both',
    scheme: 'semver',
    version: '3.1.0',
    ranges: [range({ fixed: '1.5.0' }, { introduced: '3.0.0' }, { introduced: '0' })],
    affected: true,
    fixed: [],
  },
  {
    name: 'introduced listed after fixed, version between',
    scheme: 'semver',
    version: '2.0.0',
    ranges: [range({ fixed: '1.5.0' }, { introduced: '3.0.0' }, { introduced: '0' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'two introduced/fixed pairs, in the second interval',
    scheme: 'pep440',
    version: '2.1',
    ranges: [range({ introduced: '1.0' }, { fixed: '1.5' }, { introduced: '2.0' }, { fixed: '2.3' })],
    affected: true,
    fixed: ['2.3'],
  },
  {
    name: 'two introduced/fixed pairs, in the first interval',
    scheme: 'pep440',
    version: '1.4.post1',
    ranges: [range({ introduced: '1.0' }, { fixed: '1.5' }, { introduced: '2.0' }, { fixed: '2.3' })],
    affected: true,
    fixed: ['1.5'],
  },
  {
    name: 'two introduced/fixed pairs, in the gap',
    scheme: 'pep440',
    version: '1.7',
    ranges: [range({ introduced: '1.0' }, { fixed: '1.5' }, { introduced: '2.0' }, { fixed: '2.3' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'last_affected is inclusive',
    scheme: 'maven',
    version: '29.0',
    ranges: [range({ introduced: '0' }, { last_affected: '29.0' })],
    affected: true,
    fixed: [],
  },
  {
    name: 'below last_affected by qualifier (android < jre)',
    scheme: 'maven',
    version: '29.0-android',
    ranges: [range({ introduced: '0' }, { last_affected: '29.0-jre' })],
    affected: true,
    fixed: [],
  },
  {
    name: 'above last_affected (maven order)',
    scheme: 'maven',
    version: '30.0',
    ranges: [range({ introduced: '0' }, { last_affected: '29.0' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'limit caps an open range',
    scheme: 'go',
    version: 'v1.5.0',
    ranges: [range({ introduced: '0' }, { limit: 'v1.4.0' })],
    affected: false,
    fixed: [],
  },
  {
    name: 'below the limit',
    scheme: 'go',
    version: 'v1.3.9',
    ranges: [range({ introduced: '0' }, { limit: 'v1.4.0' })],
    affected: true,
    fixed: [],
  },
  {
    name: 'limit "*" is no limit',
    scheme: 'go',
    version: 'v9.0.0',
    ranges: [range({ introduced: 'v1.0.0' }, { limit: '*' })],
    affected: true,
    fixed: [],
  },
  {
    name: 'go pseudo-version before the fix',
    scheme: 'go',
    version: 'v0.0.0-20220314234659-1baeb1ce4c0b',
    ranges: [range({ introduced: '0' }, { fixed: '0.0.0-20220315160706-3147a52a75dd' })],
    affected: true,
    fixed: ['0.0.0-20220315160706-3147a52a75dd'],
  },
  {
    name: 'multiple ranges, fixes deduplicated and sorted',
    scheme: 'dpkg',
    version: '1.1.1n-0+deb11u3',
    ranges: [
      range({ introduced: '0' }, { fixed: '1.1.1n-0+deb11u4' }),
      range({ introduced: '1.1.1' }, { fixed: '1.1.1n-0+deb11u4' }),
      range({ introduced: '1.1.0' }, { fixed: '1.1.1w-0+deb11u1' }),
    ],
    affected: true,
    fixed: ['1.1.1n-0+deb11u4', '1.1.1w-0+deb11u1'],
  },
  {
    name: 'versions list only, listed',
    scheme: 'pep440',
    version: '2.0.0',
    ranges: [],
    versions: ['1.0', '2.0'],
    affected: true,
    fixed: [],
  },
  {
    name: 'versions list, listed in another spelling of the same version',
    scheme: 'pep440',
    version: '1.0.0a1',
    ranges: [range({ introduced: '3.0' })],
    versions: ['0.9', '1.0a1', '1.1', '2.0'],
    affected: true,
    fixed: [],
  },
  {
    name: 'versions list only, not listed',
    scheme: 'pep440',
    version: '2.0.1',
    ranges: [],
    versions: ['1.0', '2.0'],
    affected: false,
    fixed: [],
  },
  {
    name: 'SEMVER range type evaluated with the given scheme',
    scheme: 'rpm',
    version: '0:3.0.7-16.el9_2',
    ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1:3.0.7-18.el9_2' }] }],
    affected: true,
    fixed: ['1:3.0.7-18.el9_2'],
  },
  {
    name: 'apk revision fixed',
    scheme: 'apk',
    version: '3.1.4-r5',
    ranges: [range({ introduced: '0' }, { fixed: '3.1.4-r6' })],
    affected: true,
    fixed: ['3.1.4-r6'],
  },
  {
    name: 'range with no events affects nothing',
    scheme: 'semver',
    version: '1.0.0',
    ranges: [range()],
    affected: false,
    fixed: [],
  },
  {
    name: 'introduced equal to fixed is an empty interval',
    scheme: 'semver',
    version: '1.0.0',
    ranges: [range({ introduced: '1.0.0' }, { fixed: '1.0.0' })],
    affected: false,
    fixed: [],
  },
];

describe('OSV range evaluation', () => {
  it.each(rows)('$name', ({ scheme, version, ranges, versions, affected, fixed }) => {
    const s = SCHEMES[scheme];
    expect(isAffected(s, version, { ranges, versions: versions ?? [] })).toBe(affected);
    expect(fixedVersionsFor(s, version, ranges)).toEqual(fixed);
  });

  it('evaluates the same range object again after it was sorted once', () => {
    const r = range({ fixed: '2.0.0' }, { introduced: '1.0.0' });
    const s = SCHEMES.semver;
    expect(isAffected(s, '1.5.0', { ranges: [r], versions: [] })).toBe(true);
    expect(isAffected(s, '2.0.0', { ranges: [r], versions: [] })).toBe(false);
    expect(r.events).toEqual([{ fixed: '2.0.0' }, { introduced: '1.0.0' }]);
  });
});

describe('rangeEnd', () => {
  it.each<[string, SchemeId, AffectedRange, { version: string; strict: boolean } | undefined]>([
    ['a fixed end: versions at or above it', 'semver', range({ introduced: '0' }, { fixed: '1.2.3' }), { version: '1.2.3', strict: false }],
    ['a last_affected end: versions above it', 'semver', range({ introduced: '1.0.0' }, { last_affected: '1.4.0' }), { version: '1.4.0', strict: true }],
    ['the last of several intervals', 'pep440', range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.3' }), { version: '2.3', strict: false }],
    ['open above its last introduced', 'semver', range({ introduced: '0' }, { fixed: '1.0.0' }, { introduced: '2.0.0' }), undefined],
    ['open: introduced 0 alone', 'dpkg', range({ introduced: '0' }), undefined],
    ['feed order is not evaluation order', 'semver', range({ fixed: '2.11.0' }, { introduced: '2.9.0' }), { version: '2.11.0', strict: false }],
    ['a limit is left out', 'semver', range({ introduced: '1.0.0' }, { fixed: '1.5.0' }, { limit: '3.0.0' }), { version: '1.5.0', strict: false }],
  ])('%s', (_name, scheme, r, end) => {
    expect(rangeEnd(SCHEMES[scheme], r)).toEqual(end);
  });
});
