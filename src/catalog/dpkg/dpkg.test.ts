import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { readLayerFiles } from './__fixtures__/oci-archive.js';
import { dpkgCataloger, MAX_DPKG_FILE_BYTES, parseListFile } from './index.js';
import { parseStanzas } from './control.js';

const LAYER = 'sha256:cd396edd7ed8';

function file(filePath: string, text: string | Buffer, size?: number): CatalogFile {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return { path: filePath, layer: LAYER, bytes, size: size ?? bytes.length, mode: 0o644 };
}

// Stanzas as dpkg writes them on Debian 12 (fields trimmed to those that matter, plus the awkward ones).
const STATUS = `Package: python3-requests
Status: install ok installed
Priority: optional
Section: python
Installed-Size: 233
Maintainer: Debian Python Team <team+python@tracker.debian.org>
Architecture: all
Source: requests
Version: 2.28.1+dfsg-1
Depends: python3-certifi, python3-charset-normalizer, python3-idna, python3-urllib3 (>= 1.21.1), python3:any, ca-certificates, python3-chardet (>= 3.0.2)
Description: elegant and simple HTTP library for Python3, built for human beings
 Requests allow you to send HTTP/1.1 requests. You can add headers, form data,
 multipart files, and parameters with simple Python dictionaries.
 .
 This package contains the Python 3 version of the library.
Homepage: https://requests.readthedocs.io

Package: libpython3-stdlib
Status: install ok installed
Priority: optional
Section: python
Installed-Size: 36
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: same
Source: python3-defaults (3.11.2-1)
Version: 3.11.2-1+b1
Depends: libpython3.11-stdlib (>= 3.11.2-1~)
Description: interactive high-level object-oriented language (default python3 version)

Package: libruby
Status: hold ok installed
Priority: optional
Section: ruby
Architecture: amd64
Source: ruby-defaults
Version: 1:3.1
Description: Libraries necessary to run Ruby (default version)

Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u15
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conffiles:
 /etc/debian_version 0b22dd3d4f2a1dc6e0a4a1bdbab6bd7c
 /etc/dot.bashrc 9b2a3c1e5dc4c3d70d4f8c5b5c4c1e5d
Description: Debian base system miscellaneous files

Package: vim-tiny
Status: deinstall ok config-files
Priority: important
Section: editors
Architecture: amd64
Source: vim
Version: 2:9.0.1378-2
Description: Vi IMproved - enhanced vi editor - compact version

Package: half-done
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1

Package: no-version
Status: install ok installed
Architecture: amd64
`;

describe('parseStanzas', () => {
  it.each([
    ['continuation lines join the previous field', 'Package: a\nDescription: one\n two\n', 'description', 'one\ntwo'],
    ['field names are case-insensitive', 'package: a\nVERSION: 1.0\n', 'version', '1.0'],
    ['CRLF line ends are accepted', 'Package: a\r\nVersion: 2.0-1\r\n', 'version', '2.0-1'],
    ['values keep inner colons', 'Package: a\nVersion: 1:2.3-4\n', 'version', '1:2.3-4'],
  ])('%s', (_title, text, field, expected) => {
    const [stanza] = parseStanzas(text);
    expect(stanza?.get(field)).toBe(expected);
  });

  it('splits stanzas on blank lines, including lines of spaces', () => {
    const stanzas = parseStanzas('Package: a\n\n\nPackage: b\n   \nPackage: c');
    expect(stanzas.map((s) => s.get('package'))).toEqual(['a', 'b', 'c']);
  });
});

describe('dpkgCataloger.matches', () => {
  it.each([
    ['/var/lib/dpkg/status', true],
    ['/var/lib/dpkg/status-old', false],
    ['/var/lib/dpkg/status.d/base-files', true],
    ['/var/lib/dpkg/status.d/libssl3', true],
    ['/var/lib/dpkg/status.d/libssl3.md5sums', false],
    ['/var/lib/dpkg/status.d/nested/x', false],
    ['/var/lib/dpkg/info/python3-requests.list', true],
    ['/var/lib/dpkg/info/libc6:amd64.list', true],
    ['/var/lib/dpkg/info/libc6:amd64.md5sums', false],
    ['/usr/share/doc/dpkg/status', false],
  ])('%s → %s', (filePath, expected) => {
    expect(dpkgCataloger.matches(filePath)).toBe(expected);
  });
});

describe('dpkgCataloger.parse of /var/lib/dpkg/status', () => {
  const result = dpkgCataloger.parse(file('/var/lib/dpkg/status', STATUS));

  it('keeps only installed packages that have a name and a version, sorted by name', () => {
    expect(result.packages.map((p) => p.name)).toEqual(['base-files', 'libpython3-stdlib', 'libruby', 'python3-requests']);
  });

  it.each([
    ['python3-requests', '2.28.1+dfsg-1', 'all', { name: 'requests', version: '2.28.1+dfsg-1' }, 'pkg:deb/debian/python3-requests@2.28.1%2Bdfsg-1?arch=all'],
    ['libpython3-stdlib', '3.11.2-1+b1', 'amd64', { name: 'python3-defaults', version: '3.11.2-1' }, 'pkg:deb/debian/libpython3-stdlib@3.11.2-1%2Bb1?arch=amd64'],
    ['libruby', '1:3.1', 'amd64', { name: 'ruby-defaults', version: '1:3.1' }, 'pkg:deb/debian/libruby@1:3.1?arch=amd64'],
    ['base-files', '12.4+deb12u15', 'amd64', { name: 'base-files', version: '12.4+deb12u15' }, 'pkg:deb/debian/base-files@12.4%2Bdeb12u15?arch=amd64'],
  ])('%s', (name, version, arch, source, purl) => {
    const pkg = result.packages.find((p) => p.name === name);
    expect(pkg).toEqual({
      type: 'deb',
      name,
      version,
      arch,
      source,
      purl,
      locations: [{ path: '/var/lib/dpkg/status', layer: LAYER }],
    });
  });

  it('returns no distro and no owned files for the status file', () => {
    expect(result.distro).toBeUndefined();
    expect(result.ownedFiles).toBeUndefined();
  });
});

describe('dpkgCataloger.parse of distroless status.d', () => {
  it.each([
    [
      'a stanza without Status is taken as installed',
      '/var/lib/dpkg/status.d/libssl3',
      'Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nInstalled-Size: 6158\n',
      ['libssl3@3.0.15-1~deb12u1 source openssl@3.0.15-1~deb12u1'],
    ],
    [
      'a stanza that says it is not installed is skipped',
      '/var/lib/dpkg/status.d/tzdata',
      'Package: tzdata\nStatus: deinstall ok config-files\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
      [],
    ],
  ])('%s', (_title, filePath, text, expected) => {
    const { packages } = dpkgCataloger.parse(file(filePath, text));
    expect(packages.map((p) => `${p.name}@${p.version} source ${p.source?.name}@${p.source?.version}`)).toEqual(expected);
    for (const pkg of packages) expect(pkg.locations).toEqual([{ path: filePath, layer: LAYER }]);
  });
});

describe('dpkg .list files', () => {
  const LIST = '/.\n/usr\n/usr/lib\n/usr/lib/python3\n/usr/lib/python3/dist-packages\n/usr/lib/python3/dist-packages/requests\n/usr/lib/python3/dist-packages/requests/__init__.py\n/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO\n/usr/share/doc/python3-requests/\n';

  it('returns the listed paths as owned files, normalised, without the root entry', () => {
    expect(dpkgCataloger.parse(file('/var/lib/dpkg/info/python3-requests.list', LIST))).toEqual({
      packages: [],
      ownedFiles: [
        '/usr',
        '/usr/lib',
        '/usr/lib/python3',
        '/usr/lib/python3/dist-packages',
        '/usr/lib/python3/dist-packages/requests',
        '/usr/lib/python3/dist-packages/requests/__init__.py',
        '/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO',
        '/usr/share/doc/python3-requests',
      ],
    });
  });

  it.each([
    ['/usr/bin/../lib/x', ['/usr/lib/x']],
    ['relative/path\n', []],
    ['/.\n\n', []],
  ])('parseListFile(%j)', (text, expected) => {
    expect(parseListFile(text)).toEqual(expected);
  });
});

describe('dpkg size limit', () => {
  it.each([
    ['/var/lib/dpkg/status', MAX_DPKG_FILE_BYTES + 1, 'TOO_LARGE'],
    ['/var/lib/dpkg/info/libc6:amd64.list', MAX_DPKG_FILE_BYTES + 1, 'TOO_LARGE'],
    ['/var/lib/dpkg/status', MAX_DPKG_FILE_BYTES, undefined],
  ])('%s of %i bytes → %s', (filePath, size, code) => {
    let caught: unknown;
    try {
      dpkgCataloger.parse(file(filePath, 'Package: a\nVersion: 1\n', size));
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof AppError ? caught.code : undefined).toBe(code);
  });
});

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const archive = path.resolve(repoRoot, '../shared/images/mixed-app.oci.tar');
if (!existsSync(archive)) console.warn(`skipping the real dpkg database test: ${archive} is absent`);

describe.skipIf(!existsSync(archive))('the dpkg database of ../shared/images/mixed-app.oci.tar (layer 0)', () => {
  it('finds 137 installed packages and python3-requests owned by Debian', async () => {
    const { layer, files } = await readLayerFiles(archive, 0, (p) => p === 'var/lib/dpkg/status' || p === 'var/lib/dpkg/info/python3-requests.list');
    const status = files.get('var/lib/dpkg/status');
    const list = files.get('var/lib/dpkg/info/python3-requests.list');
    if (!status || !list) throw new Error('layer 0 has no dpkg status or python3-requests.list');

    const { packages } = dpkgCataloger.parse({ path: '/var/lib/dpkg/status', layer, bytes: status, size: status.length, mode: 0o644 });
    expect(packages).toHaveLength(137);
    const requests = packages.find((p) => p.name === 'python3-requests');
    expect(requests?.version).toBe('2.28.1+dfsg-1');
    expect(requests?.source).toEqual({ name: 'requests', version: '2.28.1+dfsg-1' });
    expect(packages.find((p) => p.name === 'python3-yaml')?.source).toEqual({ name: 'pyyaml', version: '6.0-3' });
    expect(packages.find((p) => p.name === 'libruby')?.version).toBe('1:3.1');

    const owned = dpkgCataloger.parse({ path: '/var/lib/dpkg/info/python3-requests.list', layer, bytes: list, size: list.length, mode: 0o644 }).ownedFiles ?? [];
    expect(owned).toContain('/usr/lib/python3/dist-packages/requests/__init__.py');
  });
});
