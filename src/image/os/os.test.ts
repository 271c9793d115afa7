import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixedClock, type Distro } from '../../core/index.js';
import type { FileResult } from '../walker.js';
import { endOfLife, isEndOfLife, readReleaseLines, releaseKey } from './eol.js';
import { detectDistro, osReleaseCataloger, parseOsRelease, resolveDistro } from './index.js';

const OS_RELEASES: [string, string, Distro][] = [
  [
    'debian 12',
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  ],
  [
    'debian trixie/sid',
    'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nID=debian\n',
    { id: 'debian', versionId: '', codename: 'trixie', prettyName: 'Debian GNU/Linux trixie/sid' },
  ],
  [
    'ubuntu 22.04',
    'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n',
    { id: 'ubuntu', versionId: '22.04', codename: 'jammy', prettyName: 'Ubuntu 22.04.4 LTS' },
  ],
  [
    'alpine 3.19',
    'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\nHOME_URL="https://alpinelinux.org/"\n',
    { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' },
  ],
  [
    'rhel 9.4 (ubi)',
    'NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n',
    { id: 'rhel', versionId: '9.4', prettyName: 'Red Hat Enterprise Linux 9.4 (Plow)' },
  ],
  ['centos 7', 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n', { id: 'centos', versionId: '7', prettyName: 'CentOS Linux 7 (Core)' }],
  ['rocky 9.3', 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n', { id: 'rocky', versionId: '9.3', prettyName: 'Rocky Linux 9.3 (Blue Onyx)' }],
  ['alma 8.9', 'NAME="AlmaLinux"\nVERSION="8.9 (Midnight Oncilla)"\nID="almalinux"\nVERSION_ID="8.9"\nPRETTY_NAME="AlmaLinux 8.9 (Midnight Oncilla)"\n', { id: 'almalinux', versionId: '8.9', prettyName: 'AlmaLinux 8.9 (Midnight Oncilla)' }],
  ['oracle 8.9', 'NAME="Oracle Linux Server"\nVERSION="8.9"\nID="ol"\nID_LIKE="fedora"\nVERSION_ID="8.9"\nPRETTY_NAME="Oracle Linux Server 8.9"\n', { id: 'ol', versionId: '8.9', prettyName: 'Oracle Linux Server 8.9' }],
  ['amazon 2023', 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.4.20240401"\n', { id: 'amzn', versionId: '2023', prettyName: 'Amazon Linux 2023.4.20240401' }],
  ['amazon 2', 'NAME="Amazon Linux"\nVERSION="2"\nID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"\nPRETTY_NAME="Amazon Linux 2"\n', { id: 'amzn', versionId: '2', prettyName: 'Amazon Linux 2' }],
  ['sles 15.5', 'NAME="SLES"\nVERSION="15-SP5"\nVERSION_ID="15.5"\nPRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"\nID="sles"\nID_LIKE="suse"\n', { id: 'sles', versionId: '15.5', prettyName: 'SUSE Linux Enterprise Server 15 SP5' }],
  ['opensuse leap 15.5', 'NAME="openSUSE Leap"\nVERSION="15.5"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\nPRETTY_NAME="openSUSE Leap 15.5"\n', { id: 'opensuse-leap', versionId: '15.5', prettyName: 'openSUSE Leap 15.5' }],
  ['opensuse leap 42.3 (old id)', 'NAME="openSUSE Leap"\nVERSION="42.3"\nID=opensuse\nVERSION_ID="42.3"\nPRETTY_NAME="openSUSE Leap 42.3"\n', { id: 'opensuse-leap', versionId: '42.3', prettyName: 'openSUSE Leap 42.3' }],
  ['tumbleweed', 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\nVERSION_ID="20240320"\nPRETTY_NAME="openSUSE Tumbleweed"\n', { id: 'opensuse-tumbleweed', versionId: '20240320', prettyName: 'openSUSE Tumbleweed' }],
  ['fedora 40', 'NAME="Fedora Linux"\nVERSION="40 (Container Image)"\nID=fedora\nVERSION_ID=40\nVERSION_CODENAME=""\nPRETTY_NAME="Fedora Linux 40 (Container Image)"\n', { id: 'fedora', versionId: '40', prettyName: 'Fedora Linux 40 (Container Image)' }],
  ['wolfi', 'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID="20230201"\nHOME_URL="https://wolfi.dev"\n', { id: 'wolfi', versionId: '20230201', prettyName: 'Wolfi' }],
  ['chainguard', 'ID=chainguard\nNAME="Chainguard"\nPRETTY_NAME="Chainguard"\nVERSION_ID="20230214"\n', { id: 'chainguard', versionId: '20230214', prettyName: 'Chainguard' }],
];

describe('os-release', () => {
  it.each(OS_RELEASES)('%s', (_name, text, expected) => {
    expect(detectDistro('/etc/os-release', text)).toEqual(expected);
    expect(detectDistro('/usr/lib/os-release', text)).toEqual(expected);
  });

  it('parses quoting and escapes', () => {
    expect(parseOsRelease(`A="x \\"y\\""\nB='z'\n# C=1\nD=plain\n`)).toEqual(
      new Map([
        ['A', 'x "y"'],
        ['B', 'z'],
        ['D', 'plain'],
      ]),
    );
  });
});

describe('older distro files', () => {
  it.each([
    ['/etc/alpine-release', '3.19.1\n', { id: 'alpine', versionId: '3.19.1' }],
    ['/etc/alpine-release', '3.20.0_alpha20240329\n', { id: 'alpine', versionId: '3.20.0_alpha20240329' }],
    ['/etc/debian_version', '12.5\n', { id: 'debian', versionId: '12' }],
    ['/etc/debian_version', '9.13\n', { id: 'debian', versionId: '9' }],
    ['/etc/debian_version', 'bookworm/sid\n', { id: 'debian', versionId: '', codename: 'bookworm' }],
    ['/etc/redhat-release', 'Red Hat Enterprise Linux release 9.4 (Plow)\n', { id: 'rhel', versionId: '9.4', prettyName: 'Red Hat Enterprise Linux release 9.4 (Plow)' }],
    ['/etc/redhat-release', 'Red Hat Enterprise Linux Server release 7.9 (Maipo)\n', { id: 'rhel', versionId: '7.9', prettyName: 'Red Hat Enterprise Linux Server release 7.9 (Maipo)' }],
    ['/etc/centos-release', 'CentOS Linux release 7.9.2009 (Core)\n', { id: 'centos', versionId: '7', prettyName: 'CentOS Linux release 7.9.2009 (Core)' }],
    ['/etc/centos-release', 'CentOS Stream release 9\n', { id: 'centos', versionId: '9', prettyName: 'CentOS Stream release 9' }],
    ['/etc/redhat-release', 'Rocky Linux release 9.3 (Blue Onyx)\n', { id: 'rocky', versionId: '9.3', prettyName: 'Rocky Linux release 9.3 (Blue Onyx)' }],
    ['/etc/redhat-release', 'AlmaLinux release 9.3 (Shamrock Pulsar)\n', { id: 'almalinux', versionId: '9.3', prettyName: 'AlmaLinux release 9.3 (Shamrock Pulsar)' }],
    ['/etc/oracle-release', 'Oracle Linux Server release 8.9\n', { id: 'ol', versionId: '8.9', prettyName: 'Oracle Linux Server release 8.9' }],
    ['/etc/redhat-release', 'Fedora release 40 (Forty)\n', { id: 'fedora', versionId: '40', prettyName: 'Fedora release 40 (Forty)' }],
    ['/etc/system-release', 'Amazon Linux release 2023.4.20240401 (Amazon Linux)\n', { id: 'amzn', versionId: '2023', prettyName: 'Amazon Linux release 2023.4.20240401 (Amazon Linux)' }],
    ['/etc/system-release', 'Amazon Linux release 2 (Karoo)\n', { id: 'amzn', versionId: '2', prettyName: 'Amazon Linux release 2 (Karoo)' }],
    ['/etc/system-release', 'Amazon Linux AMI release 2018.03\n', { id: 'amzn', versionId: '2018.03', prettyName: 'Amazon Linux AMI release 2018.03' }],
    ['/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=20.04\nDISTRIB_CODENAME=focal\nDISTRIB_DESCRIPTION="Ubuntu 20.04.6 LTS"\n', { id: 'ubuntu', versionId: '20.04', codename: 'focal', prettyName: 'Ubuntu 20.04.6 LTS' }],
    ['/etc/redhat-release', 'Something else entirely\n', undefined],
    ['/etc/alpine-release', 'edge\n', undefined],
  ])('%s %j', (path, text, expected) => {
    expect(detectDistro(path, text)).toEqual(expected);
  });
});

function fileResult(path: string, text: string): FileResult {
  const bytes = Buffer.from(text);
  return { path, layer: 'sha256:x', layerIndex: 0, cataloger: 'os-release', result: osReleaseCataloger.parse({ path, layer: 'sha256:x', size: bytes.length, mode: 0o644, bytes }) };
}

describe('resolveDistro and the cataloger', () => {
  it.each([
    ['/etc/os-release', true],
    ['/usr/lib/os-release', true],
    ['/etc/debian_version', true],
    ['/etc/system-release', true],
    ['/etc/os-release.d/x', false],
    ['/usr/share/os-release', false],
  ])('matches %s: %s', (path, expected) => {
    expect(osReleaseCataloger.matches(path, { size: 300, mode: 0o644 })).toBe(expected);
  });

  it('prefers os-release over the lesser files, and /etc over /usr/lib', () => {
    const results = new Map<string, FileResult[]>([
      ['/etc/debian_version', [fileResult('/etc/debian_version', 'bookworm/sid\n')]],
      ['/etc/lsb-release', [fileResult('/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=24.04\n')]],
      ['/usr/lib/os-release', [fileResult('/usr/lib/os-release', 'ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n')]],
    ]);
    expect(resolveDistro(results)).toEqual({ id: 'ubuntu', versionId: '24.04', codename: 'noble' });
  });

  it('fills a missing VERSION_ID from a lesser file of the same distro', () => {
    const results = new Map<string, FileResult[]>([
      ['/etc/os-release', [fileResult('/etc/os-release', 'ID=alpine\nNAME="Alpine Linux"\n')]],
      ['/etc/alpine-release', [fileResult('/etc/alpine-release', '3.18.6\n')]],
    ]);
    expect(resolveDistro(results)).toEqual({ id: 'alpine', versionId: '3.18.6' });
  });

  it('finds nothing in an image without distro files', () => {
    expect(resolveDistro(new Map())).toBeUndefined();
  });
});

describe('end of life', () => {
  it.each([
    [{ id: 'debian', versionId: '10' }, '2025-01-01', 'debian:10', '2024-06-30', true],
    [{ id: 'debian', versionId: '12' }, '2026-11-27', 'debian:12', '2028-06-30', false],
    [{ id: 'ubuntu', versionId: '18.04' }, '2024-01-01', 'ubuntu:18.04', '2023-05-31', true],
    [{ id: 'alpine', versionId: '3.19.1' }, '2025-11-01', 'alpine:3.19', '2025-11-01', false],
    [{ id: 'alpine', versionId: '3.19.1' }, '2025-11-02', 'alpine:3.19', '2025-11-01', true],
    [{ id: 'centos', versionId: '7' }, '2024-07-01', 'centos:7', '2024-06-30', true],
    [{ id: 'amzn', versionId: '2018.03' }, '2024-01-01', 'amzn:1', '2023-12-31', true],
    [{ id: 'rhel', versionId: '9.4' }, '2026-11-27', 'rhel:9', '2032-05-31', false],
  ])('%j on %s', (distro, today, release, date, eol) => {
    const clock = fixedClock(`${today}T12:00:00Z`);
    expect(endOfLife(distro, clock)).toMatchObject({ release, date, endOfLife: eol });
    expect(isEndOfLife(distro, clock)).toBe(eol);
  });

  it.each([
    [{ id: 'wolfi', versionId: '20230201' }, 'wolfi'],
    [{ id: 'opensuse-tumbleweed', versionId: '20240320' }, 'opensuse-tumbleweed'],
    [{ id: 'debian', versionId: '' }, 'debian:'],
  ])('has no end for %j', (distro, key) => {
    expect(releaseKey(distro)).toBe(key);
    expect(endOfLife(distro, fixedClock('2030-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('reading eol.yaml', () => {
  const text = readFileSync(new URL('./eol.yaml', import.meta.url), 'utf8');

  it('reads the shipped file line by line exactly as the YAML parser reads it', () => {
    const lines = readReleaseLines(text);
    expect(lines?.releases.length).toBeGreaterThan(40);
    expect(lines).toEqual(parse(text));
  });

  it.each([
    ["releases:\n  - { release: 'x:1', eol: '2020-01-31', source: 'it''s here' }\n"],
    ["# a comment\n\nreleases:\n  # Debian\n  - { release: 'a', eol: 'b', source: 'c' }\n  -   {release: 'd',eol: 'e',  source: ''}  \n"],
  ])('reads %j as the YAML parser does', (file) => {
    expect(readReleaseLines(file)).toEqual(parse(file));
  });

  it.each([
    ['releases:\n  - release: debian:13\n    eol: 2030-06-30\n    source: x'],
    ["releases:\n  - { release: 'x:1', eol: '2020-01-31', source: 'y' } # a trailing comment"],
    ['releases: []'],
    ['releases:\n'],
    ["- { release: 'x:1', eol: '2020-01-31', source: 'y' }"],
    ["releases:\n  - { release: 'x:1', eol: '2020-01-31', source: 'y' }\nreleases:\n"],
  ])('leaves other YAML to the YAML parser: %j', (file) => {
    expect(readReleaseLines(file)).toBeUndefined();
  });
});
