import { describe, expect, it } from 'vitest';
import { fixedClock, type Distro, type Finding, type Package, type PackageType } from '../core/index.js';
import { ADVISORIES, EPSS, KEV } from './__fixtures__/advisories.js';
import { createFixtureIndex } from './__fixtures__/index.js';
import { createMatcher } from './matcher.js';

const BOOKWORM: Distro = { id: 'debian', versionId: '12.5' };
const ALPINE: Distro = { id: 'alpine', versionId: '3.19.1' };
const RHEL: Distro = { id: 'rhel', versionId: '9.3' };
const ROCKY: Distro = { id: 'rocky', versionId: '9.3' };

function pkg(
  type: PackageType,
  name: string,
  version: string,
  extra: { source?: Package['source']; distro?: Distro } = {},
): Package {
  return { type, name, version, purl: `pkg:${type}/${name}@${version}`, locations: [], ...extra };
}

type Row = [advisoryId: string, aliases: string[], fixed: string[], fixState: string, severity: string, severitySource: string, dataSource: string];

function rows(findings: Finding[]): Row[] {
  return findings.map((f) => [f.advisoryId, f.aliases, f.fixedVersions, f.fixState, f.severity, f.severitySource, f.dataSource]);
}

const clock = fixedClock('2025-02-18T00:00:00Z');
const matcher = createMatcher({ index: createFixtureIndex(ADVISORIES, KEV, EPSS), clock });

describe('createMatcher', () => {
  it.each<[string, Package, Row[]]>([
    [
      'Debian binary looked up by source name and compared by source version',
      pkg('deb', 'libssl3', '3.0.11-1~deb12u2', { source: { name: 'openssl', version: '3.0.11-1~deb12u2' }, distro: BOOKWORM }),
      [['CVE-2023-5678', [], ['3.0.13-1~deb12u1'], 'fixed', 'low', 'distro', 'osv:Debian']],
    ],
    [
      'Debian binNMU binary (+b1) judged by its source version; DLA bundle lends its id to the CVE',
      pkg('deb', 'libtiff6', '4.5.0-6+b1', { source: { name: 'tiff', version: '4.5.0-6' }, distro: BOOKWORM }),
      [
        ['CVE-2023-25433', ['DLA-3513-1'], ['4.5.0-6+deb12u1'], 'fixed', 'negligible', 'distro', 'osv:Debian'],
        ['CVE-2023-26965', ['DLA-3513-1'], ['4.5.0-6+deb12u1'], 'fixed', 'unknown', 'none', 'osv:Debian'],
      ],
    ],
    [
      'Debian binary without a source version is compared by its own version',
      pkg('deb', 'libtiff6', '4.5.0-6+deb12u1', { source: { name: 'tiff' }, distro: BOOKWORM }),
      [],
    ],
    [
      'unfixed Debian CVE: no fixed version, severity from CVSS',
      pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1', { source: { name: 'zlib', version: '1:1.2.13.dfsg-1' }, distro: BOOKWORM }),
      [['CVE-2023-45853', [], [], 'unfixed', 'critical', 'cvss', 'osv:Debian']],
    ],
    [
      'Alpine subpackage looked up by origin; secdb and OSV records of one CVE merged, CVSS from OSV',
      pkg('apk', 'libcrypto3', '3.1.4-r0', { source: { name: 'openssl' }, distro: ALPINE }),
      [['CVE-2023-5678', [], ['3.1.4-r1'], 'fixed', 'medium', 'cvss', 'alpine-secdb']],
    ],
    [
      'RHEL binary with epoch; CVE API wont-fix under the source name; not-affected ignored',
      pkg('rpm', 'openssl-libs', '1:3.0.7-24.el9', { source: { name: 'openssl', version: '1:3.0.7-24.el9' }, distro: RHEL }),
      [
        ['CVE-2023-5678', ['RHSA-2024:0310'], ['1:3.0.7-25.el9_3'], 'fixed', 'medium', 'advisory', 'osv:Red Hat'],
        ['CVE-2024-2511', [], [], 'wont-fix', 'low', 'distro', 'redhat-api'],
      ],
    ],
    [
      'RHEL version without epoch counts as epoch 0, below 1:3.0.7-25',
      pkg('rpm', 'openssl-libs', '3.0.9-1.el9', { distro: RHEL }),
      [['CVE-2023-5678', ['RHSA-2024:0310'], ['1:3.0.7-25.el9_3'], 'fixed', 'medium', 'advisory', 'osv:Red Hat']],
    ],
    [
      'RHEL binary at the fixed epoch:version is clean of the RHSA',
      pkg('rpm', 'openssl-libs', '1:3.0.7-25.el9_3', { distro: RHEL }),
      [],
    ],
    ['Rocky is its own namespace: no rhel records apply', pkg('rpm', 'openssl-libs', '1:3.0.7-24.el9', { distro: ROCKY }), []],
    [
      'npm semver range, advisory severity wins over CVSS',
      pkg('npm', 'lodash', '4.17.20'),
      [['CVE-2021-23337', ['GHSA-35jh-r3h4-6jhm'], ['4.17.21'], 'fixed', 'high', 'advisory', 'osv:npm']],
    ],
    ['npm fixed version is not affected; withdrawn advisory ignored', pkg('npm', 'lodash', '4.17.21'), []],
    [
      'npm second range (prerelease)',
      pkg('npm', 'express', '5.0.0-beta.1'),
      [['CVE-2024-29041', ['GHSA-rv95-896h-c2vc'], ['5.0.0-beta.3'], 'fixed', 'medium', 'advisory', 'osv:npm']],
    ],
    [
      'npm last_affected: affected with no fix',
      pkg('npm', 'json5', '2.2.1'),
      [['CVE-2022-46175', ['GHSA-9c47-m6qq-7p4h'], [], 'unfixed', 'high', 'advisory', 'osv:npm']],
    ],
    ['npm above last_affected', pkg('npm', 'json5', '2.2.2'), []],
    [
      'PyPI name normalised (PEP 503); GHSA and PYSEC merged into the CVE',
      pkg('pypi', 'PyYAML', '5.3.1'),
      [['CVE-2020-14343', ['GHSA-8q59-q68h-6hv4', 'PYSEC-2021-142'], ['5.4'], 'fixed', 'critical', 'advisory', 'osv:PyPI']],
    ],
    [
      'PyPI ids without CVE merged under the smallest id',
      pkg('pypi', 'Flask', '0.12.2'),
      [['GHSA-562c-5r94-xh97', ['PYSEC-2018-28'], ['0.12.3'], 'fixed', 'high', 'advisory', 'osv:PyPI']],
    ],
    [
      'Maven group:artifact with several ranges',
      pkg('maven', 'org.apache.logging.log4j:log4j-core', '2.14.1'),
      [['CVE-2021-44228', ['GHSA-jfh8-c2jp-5v3q'], ['2.15.0'], 'fixed', 'critical', 'advisory', 'osv:Maven']],
    ],
    ['Maven version between ranges', pkg('maven', 'org.apache.logging.log4j:log4j-core', '2.12.2'), []],
    [
      'Go toolchain looked up as stdlib with its go1.x version',
      pkg('golang', 'stdlib', 'go1.21.4'),
      [['CVE-2023-39326', ['GHSA-6g2r-2f6j-3qj9', 'GO-2023-2382'], ['1.21.5'], 'fixed', 'unknown', 'none', 'osv:Go']],
    ],
    [
      'Go module version with v prefix',
      pkg('golang', 'golang.org/x/net', 'v0.15.0'),
      [['CVE-2023-39325', ['GHSA-4374-p667-p6c8', 'GO-2023-2102'], ['0.17.0'], 'fixed', 'high', 'cvss', 'osv:Go']],
    ],
  ])('%s', (_title, input, expected) => {
    const result = matcher.match([input]);
    expect(result.unmatched).toEqual([]);
    expect(rows(result.findings)).toEqual(expected);
  });

  it('enriches with KEV and EPSS through the CVE alias and keeps the package and installed version', () => {
    const log4j = pkg('maven', 'org.apache.logging.log4j:log4j-core', '2.14.1');
    const [finding] = matcher.match([log4j]).findings;
    expect(finding?.kev).toEqual({ cveId: 'CVE-2021-44228', dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareUse: true });
    expect(finding?.epss).toEqual({ cveId: 'CVE-2021-44228', score: 0.94358, percentile: 0.99988 });
    expect(finding?.cvss?.baseScore).toBe(10);
    expect(finding?.package).toBe(log4j);
    expect(finding?.installedVersion).toBe('2.14.1');
    expect(finding?.namespace).toBe('maven');
    expect(finding?.summary).toBe('Remote code injection in Log4j');
  });

  it('reports the installed binary version, not the source version it was judged by', () => {
    const [finding] = matcher.match([
      pkg('deb', 'libtiff6', '4.5.0-6+b1', { source: { name: 'tiff', version: '4.5.0-6' }, distro: BOOKWORM }),
    ]).findings;
    expect(finding?.installedVersion).toBe('4.5.0-6+b1');
  });

  it('a withdrawal date in the future does not hide the advisory', () => {
    const early = createMatcher({ index: createFixtureIndex(ADVISORIES), clock: fixedClock('2024-01-01T00:00:00Z') });
    expect(early.match([pkg('npm', 'lodash', '4.17.21')]).findings.map((f) => f.advisoryId)).toEqual(['GHSA-4xc9-xhrj-v574']);
  });

  it.each<[string, Package, string]>([
    ['OS package without distro', pkg('deb', 'libssl3', '3.0.11-1~deb12u2'), 'no-namespace'],
    ['distro with no version scheme', pkg('rpm', 'bash', '5.1-1', { distro: { id: 'plan9', versionId: '4' } }), 'no-scheme'],
    ['npm version that is not semver', pkg('npm', 'lodash', 'latest'), 'invalid-version'],
  ])('unmatched: %s', (_title, input, reason) => {
    expect(matcher.match([input])).toEqual({ findings: [], unmatched: [{ package: input, reason }] });
  });

  it('gives the findings of one bundle record one frozen aliases list and one frozen fixed-versions list', () => {
    const openssl = pkg('deb', 'libssl3', '3.0.9-1', { source: { name: 'openssl', version: '3.0.9-1' }, distro: BOOKWORM });
    const findings = matcher.match([openssl]).findings.filter((f) => f.aliases.includes('DSA-5532-1'));
    expect(findings.map((f) => [f.advisoryId, f.aliases, f.fixedVersions])).toEqual([
      ['CVE-2023-4807', ['DSA-5532-1'], ['3.0.11-1~deb12u1']],
      ['CVE-2023-5363', ['DSA-5532-1'], ['3.0.11-1~deb12u1']],
    ]);
    const [first, second] = findings;
    expect(second?.aliases).toBe(first?.aliases);
    expect(second?.fixedVersions).toBe(first?.fixedVersions);
    expect(() => first?.aliases.push('X')).toThrow(TypeError);
    expect(() => first?.fixedVersions.push('9')).toThrow(TypeError);
  });

  it('sorts by severity desc, package, advisory id, and looks each (namespace, name) up once per call', () => {
    const index = createFixtureIndex(ADVISORIES, KEV, EPSS);
    const m = createMatcher({ index, clock });
    const result = m.match([
      pkg('npm', 'lodash', '4.17.20'),
      pkg('pypi', 'pyyaml', '5.3'),
      pkg('deb', 'libtiff6', '4.5.0-6+b1', { source: { name: 'tiff', version: '4.5.0-6' }, distro: BOOKWORM }),
      pkg('deb', 'libtiffxx6', '4.5.0-6+b1', { source: { name: 'tiff', version: '4.5.0-6' }, distro: BOOKWORM }),
      pkg('pypi', 'PyYAML', '5.3.1'),
    ]);
    expect(result.findings.map((f) => [f.severity, f.package.name, f.package.version, f.advisoryId])).toEqual([
      ['critical', 'PyYAML', '5.3.1', 'CVE-2020-14343'],
      ['critical', 'pyyaml', '5.3', 'CVE-2020-14343'],
      ['high', 'lodash', '4.17.20', 'CVE-2021-23337'],
      ['negligible', 'libtiff6', '4.5.0-6+b1', 'CVE-2023-25433'],
      ['negligible', 'libtiffxx6', '4.5.0-6+b1', 'CVE-2023-25433'],
      ['unknown', 'libtiff6', '4.5.0-6+b1', 'CVE-2023-26965'],
      ['unknown', 'libtiffxx6', '4.5.0-6+b1', 'CVE-2023-26965'],
    ]);
    expect(index.lookups).toBe(3);
  });
});

describe('evaluation order', () => {
  const packages = [
    pkg('deb', 'libssl3', '3.0.11-1~deb12u2', { source: { name: 'openssl', version: '3.0.11-1~deb12u2' }, distro: BOOKWORM }),
    pkg('deb', 'libtiff6', '4.5.0-6+b1', { source: { name: 'tiff', version: '4.5.0-6' }, distro: BOOKWORM }),
    pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1', { source: { name: 'zlib', version: '1:1.2.13.dfsg-1' }, distro: BOOKWORM }),
    pkg('deb', 'broken', 'not a version!', { distro: BOOKWORM }),
    pkg('apk', 'libcrypto3', '3.1.4-r0', { source: { name: 'openssl' }, distro: ALPINE }),
    pkg('npm', 'lodash', '4.17.20'),
    pkg('npm', 'express', '4.17.1'),
    pkg('rpm', 'nothing-here', '5.1-1', { distro: { id: 'plan9', versionId: '4' } }),
    pkg('pypi', 'pyyaml', '5.3'),
    pkg('pypi', 'PyYAML', '5.3.1'),
    pkg('deb', 'no-distro', '1.0-1'),
  ];

  it('gives the same findings whatever the order of the input (namespaces are interleaved inside)', () => {
    const expected = createMatcher({ index: createFixtureIndex(ADVISORIES, KEV, EPSS), clock }).match(packages);
    expect(expected.findings.length).toBeGreaterThan(5);
    for (const shuffled of [[...packages].reverse(), [...packages.slice(5), ...packages.slice(0, 5)]]) {
      const result = createMatcher({ index: createFixtureIndex(ADVISORIES, KEV, EPSS), clock }).match(shuffled);
      expect(JSON.stringify(result.findings)).toBe(JSON.stringify(expected.findings));
    }
  });

  it('lists unmatched packages in input order', () => {
    const result = createMatcher({ index: createFixtureIndex(ADVISORIES, KEV, EPSS), clock }).match(packages);
    expect(result.unmatched.map((u) => [u.package.name, u.reason])).toEqual([
      ['broken', 'invalid-version'],
      ['nothing-here', 'no-scheme'],
      ['no-distro', 'no-namespace'],
    ]);
  });
});

describe('cross-call cache', () => {
  const packages = [pkg('npm', 'lodash', '4.17.20'), pkg('pypi', 'PyYAML', '5.3.1'), pkg('npm', 'express', '4.17.1')];

  it.each<[number, number]>([
    [0, 9],
    [1, 9],
    [100, 3],
  ])('cacheSize %i: three match() calls over three names make %i lookups, with equal results', (cacheSize, lookups) => {
    const index = createFixtureIndex(ADVISORIES, KEV, EPSS);
    const m = createMatcher({ index, clock, cacheSize });
    const results = [m.match(packages), m.match(packages), m.match(packages)];
    expect(index.lookups).toBe(lookups);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('refuses a negative cache size', () => {
    expect(() => createMatcher({ index: createFixtureIndex([]), cacheSize: -1 })).toThrow('cacheSize must be a whole number >= 0, got -1');
  });
});
