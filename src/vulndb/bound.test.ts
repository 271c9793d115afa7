import { describe, expect, it } from 'vitest';
import type { AffectedRange } from '../core/index.js';
import { SCHEMES } from '../versioning/registry.js';
import { isBeyond, packageBound } from './bound.js';
import { encodeRanges, encodeStrings, type StoredRecord } from './codec.js';

function record(fixState: string, ranges: AffectedRange[] = [], versions: string[] = []): StoredRecord {
  return { rid: 1, fixState, severity: null, ranges: ranges.length > 0 ? encodeRanges(ranges) : null, versions: encodeStrings(versions) };
}

const fixedAt = (v: string): AffectedRange[] => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: v }] }];
const dpkg = SCHEMES.dpkg;

describe('packageBound', () => {
  it.each<[string, StoredRecord[], { version: string; strict: boolean } | undefined]>([
    ['the highest fix of the row', [record('fixed', fixedAt('1.2-1')), record('fixed', fixedAt('1:0.9-1')), record('fixed', fixedAt('1.10-1'))], { version: '1:0.9-1', strict: false }],
    ['an unfixed record without ranges: no bound', [record('fixed', fixedAt('1.2-1')), record('unfixed')], undefined],
    ['a won\'t-fix record without ranges: no bound', [record('wont-fix')], undefined],
    ['an open range: no bound', [record('fixed', fixedAt('1.2-1')), record('unfixed', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }])], undefined],
    ['not-affected records and empty fixed records are left out', [record('not-affected', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }]), record('fixed'), record('fixed', fixedAt('2.0-1'))], { version: '2.0-1', strict: false }],
    ['listed versions: above the highest', [record('fixed', fixedAt('1.0-1')), record('unfixed', [], ['1.5-1', '1.4-1'])], { version: '1.5-1', strict: true }],
    ['a tie keeps the stricter end', [record('fixed', fixedAt('1.5-1')), record('unfixed', [], ['1.5-1'])], { version: '1.5-1', strict: true }],
    ['no records', [], undefined],
  ])('%s', (_name, records, bound) => {
    expect(packageBound(dpkg, records)).toEqual(bound);
  });

  it('says which versions are beyond it', () => {
    expect([isBeyond(dpkg, '1.2-1', { version: '1.2-1', strict: false }), isBeyond(dpkg, '1.2-0', { version: '1.2-1', strict: false })]).toEqual([true, false]);
    expect([isBeyond(dpkg, '1.2-1', { version: '1.2-1', strict: true }), isBeyond(dpkg, '1.2-2', { version: '1.2-1', strict: true })]).toEqual([false, true]);
  });
});
