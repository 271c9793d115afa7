import type { Advisory, AffectedPackage, CvssScore, EpssScore, KevEntry } from '../../core/index.js';

/**
 * Fixture advisories written for the matcher's tests, shaped like the records the importers file
 * (OSV Debian/Alpine/Red Hat/GHSA/PYSEC/Go, the Red Hat CVE API's package states). Versions and ids
 * follow the real advisories; the records are trimmed to what matching reads.
 */
function advisory(fields: Partial<Advisory> & Pick<Advisory, 'id' | 'source' | 'affected'>): Advisory {
  return { aliases: [], cvss: [], references: [], ...fields };
}

function affected(fields: Partial<AffectedPackage> & Pick<AffectedPackage, 'namespace' | 'name'>): AffectedPackage {
  return { ranges: [], versions: [], fixState: 'fixed', ...fields };
}

function fixedRange(type: 'ECOSYSTEM' | 'SEMVER', introduced: string, fixed: string) {
  return { type, events: [{ introduced }, { fixed }] };
}

const nvd = (baseScore: number, vector: string): CvssScore => ({ version: '3.1', vector, baseScore, source: 'nvd' });

export const ADVISORIES: Advisory[] = [
  // Debian: per source package, source versions. openssl in bookworm.
  advisory({
    id: 'CVE-2023-5678',
    source: 'osv:Debian',
    summary: 'openssl: Excessive time spent in DH check / generation with large Q parameter value',
    cvss: [nvd(5.3, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L')],
    affected: [
      affected({
        namespace: 'debian:12',
        name: 'openssl',
        ranges: [fixedRange('ECOSYSTEM', '0', '3.0.13-1~deb12u1')],
        severity: 'low',
      }),
    ],
  }),
  // Alpine secdb: per origin package.
  advisory({
    id: 'CVE-2023-5678',
    source: 'alpine-secdb',
    affected: [affected({ namespace: 'alpine:3.19', name: 'openssl', ranges: [fixedRange('ECOSYSTEM', '0', '3.1.4-r1')] })],
  }),
  // A DSA bundle naming two CVEs: fixed before the installed version, so it must not match bookworm's u2.
  advisory({
    id: 'DSA-5532-1',
    aliases: ['CVE-2023-5363', 'CVE-2023-4807'],
    source: 'osv:Debian',
    summary: 'openssl - security update',
    affected: [affected({ namespace: 'debian:12', name: 'openssl', ranges: [fixedRange('ECOSYSTEM', '0', '3.0.11-1~deb12u1')] })],
  }),
  // tiff: binNMU binaries (libtiff6 4.5.0-6+b1) are judged by the source version 4.5.0-6.
  advisory({
    id: 'DLA-3513-1',
    aliases: ['CVE-2023-25433', 'CVE-2023-26965'],
    source: 'osv:Debian',
    summary: 'tiff - security update',
    affected: [affected({ namespace: 'debian:12', name: 'tiff', ranges: [fixedRange('ECOSYSTEM', '0', '4.5.0-6+deb12u1')] })],
  }),
  advisory({
    id: 'CVE-2023-25433',
    source: 'osv:Debian',
    summary: 'libtiff: Buffer Overflow via /libtiff/tools/tiffcrop.c',
    cvss: [nvd(5.5, 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H')],
    affected: [
      affected({ namespace: 'debian:12', name: 'tiff', ranges: [fixedRange('ECOSYSTEM', '0', '4.5.0-6+deb12u1')], severity: 'negligible' }),
    ],
  }),
  // An unfixed Debian CVE (the tracker has no fixed version for bookworm): introduced 0, no fix.
  advisory({
    id: 'CVE-2023-45853',
    source: 'osv:Debian',
    summary: 'MiniZip in zlib through 1.3 has an integer overflow and resultant heap-based buffer overflow',
    cvss: [nvd(9.8, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')],
    affected: [
      affected({
        namespace: 'debian:12',
        name: 'zlib',
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
        fixState: 'unfixed',
      }),
    ],
  }),
  // The same CVE from OSV's Alpine export: merged with the secdb record into one finding.
  advisory({
    id: 'CVE-2023-5678',
    source: 'osv:Alpine',
    cvss: [nvd(5.3, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L')],
    affected: [affected({ namespace: 'alpine:3.19', name: 'openssl', ranges: [fixedRange('ECOSYSTEM', '0', '3.1.4-r1')] })],
  }),
  // Red Hat: RHSA per binary rpm with epoch; the CVE API's package states per source component.
  advisory({
    id: 'RHSA-2024:0310',
    aliases: ['CVE-2023-5678'],
    source: 'osv:Red Hat',
    severity: 'medium',
    summary: 'openssl security update',
    affected: [
      affected({ namespace: 'rhel:9', name: 'openssl-libs', ranges: [fixedRange('ECOSYSTEM', '0', '1:3.0.7-25.el9_3')] }),
      affected({ namespace: 'rhel:9', name: 'openssl', ranges: [fixedRange('ECOSYSTEM', '0', '1:3.0.7-25.el9_3')] }),
    ],
  }),
  advisory({
    id: 'CVE-2024-2511',
    source: 'redhat-api',
    summary: 'openssl: Unbounded memory growth with session handling in TLSv1.3',
    cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L', baseScore: 3.7, source: 'redhat' }],
    affected: [affected({ namespace: 'rhel:9', name: 'openssl', fixState: 'wont-fix', severity: 'low' })],
  }),
  advisory({
    id: 'CVE-2024-0727',
    source: 'redhat-api',
    summary: 'openssl: denial of service via null dereference',
    affected: [affected({ namespace: 'rhel:9', name: 'openssl', fixState: 'not-affected', severity: 'low' })],
  }),
  // npm: GHSA with SEMVER ranges, and one with no fix (last_affected).
  advisory({
    id: 'GHSA-35jh-r3h4-6jhm',
    aliases: ['CVE-2021-23337'],
    source: 'osv:npm',
    severity: 'high',
    summary: 'Command Injection in lodash',
    cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', baseScore: 7.2, source: 'ghsa' }],
    affected: [affected({ namespace: 'npm', name: 'lodash', ranges: [fixedRange('SEMVER', '0', '4.17.21')] })],
  }),
  advisory({
    id: 'GHSA-rv95-896h-c2vc',
    aliases: ['CVE-2024-29041'],
    source: 'osv:npm',
    severity: 'medium',
    summary: 'Express.js Open Redirect in malformed URLs',
    cvss: [nvd(6.1, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N')],
    affected: [
      affected({
        namespace: 'npm',
        name: 'express',
        ranges: [fixedRange('SEMVER', '0', '4.19.2'), fixedRange('SEMVER', '5.0.0-alpha.1', '5.0.0-beta.3')],
      }),
    ],
  }),
  advisory({
    id: 'GHSA-9c47-m6qq-7p4h',
    aliases: ['CVE-2022-46175'],
    source: 'osv:npm',
    severity: 'high',
    summary: 'Prototype Pollution in JSON5 via Parse Method',
    affected: [
      affected({
        namespace: 'npm',
        name: 'json5',
        ranges: [{ type: 'SEMVER', events: [{ introduced: '2.0.0' }, { last_affected: '2.2.1' }] }],
        fixState: 'unfixed',
      }),
    ],
  }),
  // PyPI: GHSA and PYSEC for the same CVE, filed under the PEP 503 name.
  advisory({
    id: 'GHSA-8q59-q68h-6hv4',
    aliases: ['CVE-2020-14343', 'PYSEC-2021-142'],
    source: 'osv:PyPI',
    severity: 'critical',
    summary: 'Improper Input Validation in PyYAML',
    cvss: [nvd(9.8, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')],
    affected: [affected({ namespace: 'pypi', name: 'pyyaml', ranges: [fixedRange('ECOSYSTEM', '0', '5.4')] })],
  }),
  advisory({
    id: 'PYSEC-2021-142',
    aliases: ['CVE-2020-14343', 'GHSA-8q59-q68h-6hv4'],
    source: 'osv:PyPI',
    // PYSEC spells the fix `5.4.0`, which PEP 440 orders equal to GHSA's `5.4`: reported once.
    affected: [affected({ namespace: 'pypi', name: 'pyyaml', ranges: [fixedRange('ECOSYSTEM', '0', '5.4.0')] })],
  }),
  // A GHSA without CVE and its PYSEC twin: one finding named by the smallest id.
  advisory({
    id: 'PYSEC-2018-28',
    aliases: ['GHSA-562c-5r94-xh97'],
    source: 'osv:PyPI',
    summary: 'Flask denial of service via crafted encoded JSON data',
    affected: [affected({ namespace: 'pypi', name: 'flask', ranges: [fixedRange('ECOSYSTEM', '0', '0.12.3')] })],
  }),
  advisory({
    id: 'GHSA-562c-5r94-xh97',
    source: 'osv:PyPI',
    severity: 'high',
    affected: [affected({ namespace: 'pypi', name: 'flask', ranges: [fixedRange('ECOSYSTEM', '0', '0.12.3')] })],
  }),
  // Maven: group:artifact, several ranges.
  advisory({
    id: 'GHSA-jfh8-c2jp-5v3q',
    aliases: ['CVE-2021-44228'],
    source: 'osv:Maven',
    severity: 'critical',
    summary: 'Remote code injection in Log4j',
    cvss: [nvd(10, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H')],
    affected: [
      affected({
        namespace: 'maven',
        name: 'org.apache.logging.log4j:log4j-core',
        ranges: [
          fixedRange('ECOSYSTEM', '2.0-beta9', '2.3.1'),
          fixedRange('ECOSYSTEM', '2.4', '2.12.2'),
          fixedRange('ECOSYSTEM', '2.13.0', '2.15.0'),
        ],
      }),
    ],
  }),
  // Go: the standard library and a module.
  advisory({
    id: 'GO-2023-2382',
    aliases: ['CVE-2023-39326', 'GHSA-6g2r-2f6j-3qj9'],
    source: 'osv:Go',
    summary: 'Denial of service via chunk extensions in net/http',
    affected: [
      affected({
        namespace: 'go',
        name: 'stdlib',
        ranges: [fixedRange('SEMVER', '0', '1.20.12'), fixedRange('SEMVER', '1.21.0-0', '1.21.5')],
      }),
    ],
  }),
  advisory({
    id: 'GO-2023-2102',
    aliases: ['CVE-2023-39325', 'GHSA-4374-p667-p6c8'],
    source: 'osv:Go',
    summary: 'HTTP/2 rapid reset can cause excessive work in net/http',
    cvss: [nvd(7.5, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H')],
    affected: [affected({ namespace: 'go', name: 'golang.org/x/net', ranges: [fixedRange('SEMVER', '0', '0.17.0')] })],
  }),
  // A withdrawn advisory never matches.
  advisory({
    id: 'GHSA-4xc9-xhrj-v574',
    source: 'osv:npm',
    severity: 'critical',
    withdrawn: '2024-03-01T00:00:00Z',
    affected: [affected({ namespace: 'npm', name: 'lodash', ranges: [fixedRange('SEMVER', '0', '4.17.22')] })],
  }),
];

export const KEV: KevEntry[] = [
  { cveId: 'CVE-2021-44228', dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareUse: true },
];

export const EPSS: EpssScore[] = [
  { cveId: 'CVE-2021-44228', score: 0.94358, percentile: 0.99988 },
  { cveId: 'CVE-2021-23337', score: 0.01147, percentile: 0.77817 },
];
