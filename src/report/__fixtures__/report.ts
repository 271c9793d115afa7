import type { Distro, Finding, Package } from '../../core/index.js';
import type { ScanReport } from '../types.js';

/**
 * A small, realistic scan of a Debian 12 Node.js image: libwebp7 with CVE-2023-4863 (fixed, in KEV,
 * with EPSS), tar with CVE-2005-2541 (unfixed, negligible), zlib1g with CVE-2023-45853 (wont-fix),
 * lodash 4.17.20 with GHSA-35jh-r3h4-6jhm, and two packages without findings.
 */
const bookworm: Distro = { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' };
const dpkgStatus = { path: '/var/lib/dpkg/status', layer: 'sha256:1f3e46996e2966e4faa5846e56e76e3748b7315e2ded61476c24403d592134f0' };
const appLayer = 'sha256:7d2a16c7e4c5d1f9f2c6e5d4b3a29180f6e5d4c3b2a1908f7e6d5c4b3a291807';

export function debPackage(name: string, version: string, source?: string): Package {
  return {
    type: 'deb',
    name,
    version,
    purl: `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=amd64&distro=debian-12`,
    ...(source ? { source: { name: source } } : {}),
    arch: 'amd64',
    distro: bookworm,
    locations: [dpkgStatus],
  };
}

export function npmPackage(name: string, version: string, licenses: string[]): Package {
  return {
    type: 'npm',
    name,
    version,
    purl: `pkg:npm/${name}@${version}`,
    licenses,
    locations: [{ path: `/app/node_modules/${name}/package.json`, layer: appLayer }],
  };
}

export const libwebp = debPackage('libwebp7', '1.2.4-0.2', 'libwebp');
export const tar = debPackage('tar', '1.34+dfsg-1.2+deb12u1');
export const zlib = debPackage('zlib1g', '1:1.2.13.dfsg-1', 'zlib');
export const bash = debPackage('bash', '5.2.15-2+b2');
export const lodash = npmPackage('lodash', '4.17.20', ['MIT']);
export const express = npmPackage('express', '4.19.2', ['MIT']);

export const webpFinding: Finding = {
  advisoryId: 'CVE-2023-4863',
  aliases: ['DSA-5496-1'],
  summary: 'Heap buffer overflow in libwebp allows a remote attacker to perform an out of bounds memory write via a crafted HTML page',
  package: libwebp,
  installedVersion: '1.2.4-0.2',
  fixedVersions: ['1.2.4-0.2+deb12u1'],
  fixState: 'fixed',
  severity: 'high',
  severitySource: 'cvss',
  cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', baseScore: 8.8, source: 'nvd' },
  kev: { cveId: 'CVE-2023-4863', dateAdded: '2023-09-13', dueDate: '2023-10-04', knownRansomwareUse: false },
  epss: { cveId: 'CVE-2023-4863', score: 0.93612, percentile: 0.99816 },
  dataSource: 'osv:Debian',
  namespace: 'debian:12',
};

export const tarFinding: Finding = {
  advisoryId: 'CVE-2005-2541',
  aliases: [],
  summary: 'Tar 1.15.1 does not properly warn the user when extracting setuid or setgid files',
  package: tar,
  installedVersion: '1.34+dfsg-1.2+deb12u1',
  fixedVersions: [],
  fixState: 'unfixed',
  severity: 'negligible',
  severitySource: 'distro',
  dataSource: 'osv:Debian',
  namespace: 'debian:12',
};

export const zlibFinding: Finding = {
  advisoryId: 'CVE-2023-45853',
  aliases: [],
  summary: 'MiniZip in zlib through 1.3 has an integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_64',
  package: zlib,
  installedVersion: '1:1.2.13.dfsg-1',
  fixedVersions: [],
  fixState: 'wont-fix',
  severity: 'critical',
  severitySource: 'cvss',
  cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd' },
  dataSource: 'osv:Debian',
  namespace: 'debian:12',
};

export const lodashFinding: Finding = {
  advisoryId: 'GHSA-35jh-r3h4-6jhm',
  aliases: ['CVE-2021-23337'],
  summary: 'Command Injection in lodash',
  package: lodash,
  installedVersion: '4.17.20',
  fixedVersions: ['4.17.21'],
  fixState: 'fixed',
  severity: 'high',
  severitySource: 'advisory',
  cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', baseScore: 7.2, source: 'ghsa' },
  dataSource: 'osv:npm',
  namespace: 'npm',
};

/** A fresh copy each call, in a deliberately unsorted order. */
export function sampleReport(): ScanReport {
  return structuredClone({
    schemaVersion: 1,
    tool: { name: 'palisade', version: '0.1.0' },
    createdAt: '2026-11-27T00:40:00.000Z',
    target: {
      kind: 'image',
      reference: 'registry.example.com:5000/shop/web:1.4.2',
      digest: 'sha256:3c5b2a1f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4',
      platform: 'linux/amd64',
      layers: [
        { digest: dpkgStatus.layer, size: 29_126_484 },
        { digest: appLayer, size: 4_812_330 },
      ],
    },
    distro: { ...bookworm, eol: { date: '2028-06-30', endOfLife: false, source: 'https://endoflife.date/debian' } },
    db: { builtAt: '2026-11-26T06:00:00Z', sources: [{ id: 'osv:npm', snapshot: '2026-11-26' }, { id: 'osv:Debian', snapshot: '2026-11-26' }] },
    packages: [lodash, zlib, bash, express, tar, libwebp],
    findings: [lodashFinding, tarFinding, zlibFinding, webpFinding],
    suppressed: [],
  } satisfies ScanReport);
}
