import { describe, expect, it } from 'vitest';
import type { CvssScore } from '../core/index.js';
import { chooseCvss, chooseSeverity, severityFromScore } from './severity.js';

const v31 = (baseScore: number, source = 'nvd'): CvssScore => ({ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore, source });
const v40 = (baseScore: number): CvssScore => ({ version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseScore, source: 'ghsa' });
const v20 = (baseScore: number): CvssScore => ({ version: '2.0', vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', baseScore, source: 'nvd' });

describe('severityFromScore', () => {
  it.each([
    [10, 'critical'],
    [9, 'critical'],
    [8.9, 'high'],
    [7, 'high'],
    [6.9, 'medium'],
    [4, 'medium'],
    [3.9, 'low'],
    [0.1, 'low'],
    [0, 'unknown'],
  ])('%s → %s', (score, expected) => {
    expect(severityFromScore(score)).toBe(expected);
  });
});

describe('chooseCvss', () => {
  it.each<[string, CvssScore[], CvssScore | undefined]>([
    ['highest v3.x wins over a higher v4 and v2', [v40(9.3), v31(7.5), v20(10), v31(8.1, 'redhat')], v31(8.1, 'redhat')],
    ['v4 when no v3.x', [v20(7.5), v40(8.7)], v40(8.7)],
    ['v2 alone', [v20(5)], v20(5)],
    ['first of equal scores', [v31(7.5, 'nvd'), v31(7.5, 'ghsa')], v31(7.5, 'nvd')],
    ['none', [], undefined],
  ])('%s', (_title, scores, expected) => {
    expect(chooseCvss(scores)).toEqual(expected);
  });
});

describe('chooseSeverity', () => {
  it.each<[string, Parameters<typeof chooseSeverity>[0], ReturnType<typeof chooseSeverity>]>([
    ['distro rating for an OS package', { isOsPackage: true, distroRatings: [undefined, 'low'], advisoryRatings: ['high'], cvss: v31(9.8) }, { severity: 'low', severitySource: 'distro' }],
    ["distro 'unknown' counts as none", { isOsPackage: true, distroRatings: ['unknown'], advisoryRatings: ['high'], cvss: undefined }, { severity: 'high', severitySource: 'advisory' }],
    ['distro rating ignored for a language package', { isOsPackage: false, distroRatings: ['low'], advisoryRatings: ['medium'], cvss: v31(9.8) }, { severity: 'medium', severitySource: 'advisory' }],
    ['CVSS band when nobody rated it', { isOsPackage: true, distroRatings: [], advisoryRatings: [undefined], cvss: v31(9.8) }, { severity: 'critical', severitySource: 'cvss' }],
    ['unknown without anything', { isOsPackage: false, distroRatings: [], advisoryRatings: [], cvss: undefined }, { severity: 'unknown', severitySource: 'none' }],
  ])('%s', (_title, input, expected) => {
    expect(chooseSeverity(input)).toEqual(expected);
  });
});
