import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { apkCataloger, MAX_APK_DB_BYTES } from './index.js';

const DB_PATH = '/lib/apk/db/installed';
const LAYER = 'sha256:4abcf2066143';

function file(text: string | Buffer, size?: number): CatalogFile {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return { path: DB_PATH, layer: LAYER, bytes, size: size ?? bytes.length, mode: 0o644 };
}

// Records as apk-tools writes them in alpine:3.19 (checksums shortened to one line each).
const INSTALLED = `C:Q1E3thSxVN6qPSfD+EW4VHLDvbrsc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407253
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1701798412
c:b8c7b7b2f26a6e88c7d8e0a6c2d4f1a3c3e1c8a9
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1Cv7Z8ld8MZ1fkmEhzmWqAjkB4VU=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q1ejAs4kUuazcVdqAqIZ35KpaH2hk=

C:Q1PnP3mb5mBPbL9vkCuBH4bJLkB5Q=
P:libcrypto3
V:3.1.4-r5
A:x86_64
S:1706012
I:4583424
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conner <ariadne@dereferenced.org>
t:1707142000
c:cd7a0d4f4a0b0c8bb3e4b3b5d1f0c8d4a6b5c3e2
D:so:libc.musl-x86_64.so.1
F:etc
F:etc/ssl
R:openssl.cnf.dist
F:usr/lib
R:libcrypto.so.3
a:0:0:755
F:usr/lib/engines-3
R:afalg.so

C:Q1WqGf0JFxrc0dnKbDd9jvL3hH9fQ=
P:ca-certificates-bundle
V:20230506-r0
A:x86_64
L:MPL-2.0 AND MIT
o:ca-certificates
F:etc/ssl/certs
R:ca-certificates.crt

P:broken-no-version
A:x86_64
`;

describe('apkCataloger.matches', () => {
  it.each([
    ['/lib/apk/db/installed', true],
    ['/lib/apk/db/installed.new', false],
    ['/usr/lib/apk/db/installed', false],
    ['/lib/apk/db/scripts.tar', false],
  ])('%s → %s', (path, expected) => {
    expect(apkCataloger.matches(path)).toBe(expected);
  });
});

describe('apkCataloger.parse', () => {
  const result = apkCataloger.parse(file(INSTALLED));

  it('skips records without a version and sorts by name', () => {
    expect(result.packages.map((p) => p.name)).toEqual(['ca-certificates-bundle', 'libcrypto3', 'musl']);
  });

  it.each([
    ['musl', '1.2.4_git20230717-r4', { name: 'musl', version: '1.2.4_git20230717-r4' }, ['MIT'], 'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64'],
    ['libcrypto3', '3.1.4-r5', { name: 'openssl', version: '3.1.4-r5' }, ['Apache-2.0'], 'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64'],
    ['ca-certificates-bundle', '20230506-r0', { name: 'ca-certificates', version: '20230506-r0' }, ['MPL-2.0 AND MIT'], 'pkg:apk/alpine/ca-certificates-bundle@20230506-r0?arch=x86_64'],
  ])('%s', (name, version, source, licenses, purl) => {
    expect(result.packages.find((p) => p.name === name)).toEqual({
      type: 'apk',
      name,
      version,
      arch: 'x86_64',
      source,
      licenses,
      purl,
      locations: [{ path: DB_PATH, layer: LAYER }],
    });
  });

  it('returns every F folder and F/R file as owned, sorted', () => {
    expect(result.ownedFiles).toEqual([
      '/etc',
      '/etc/ssl',
      '/etc/ssl/certs',
      '/etc/ssl/certs/ca-certificates.crt',
      '/etc/ssl/openssl.cnf.dist',
      '/lib',
      '/lib/ld-musl-x86_64.so.1',
      '/lib/libc.musl-x86_64.so.1',
      '/usr/lib',
      '/usr/lib/engines-3',
      '/usr/lib/engines-3/afalg.so',
      '/usr/lib/libcrypto.so.3',
    ]);
  });

  it.each([
    ['a file before any F line belongs to /', 'P:busybox-binsh\nV:1.36.1-r15\nR:bin\n', ['/bin']],
    ['the folder resets at the next record', 'P:a\nV:1-r0\nF:usr/bin\nR:a\n\nP:b\nV:1-r0\nR:b\n', ['/b', '/usr/bin', '/usr/bin/a']],
    ['CRLF line ends are accepted', 'P:a\r\nV:1-r0\r\nF:usr\r\nR:x\r\n', ['/usr', '/usr/x']],
  ])('%s', (_title, text, expected) => {
    expect(apkCataloger.parse(file(text)).ownedFiles).toEqual(expected);
  });

  it('a package without origin is its own source', () => {
    const [pkg] = apkCataloger.parse(file('P:wolfi-baselayout\nV:20230201-r7\nA:aarch64\n')).packages;
    expect(pkg?.source).toEqual({ name: 'wolfi-baselayout', version: '20230201-r7' });
    expect(pkg?.purl).toBe('pkg:apk/alpine/wolfi-baselayout@20230201-r7?arch=aarch64');
  });

  it('throws TOO_LARGE over the size limit', () => {
    let caught: unknown;
    try {
      apkCataloger.parse(file('P:a\nV:1-r0\n', MAX_APK_DB_BYTES + 1));
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof AppError && caught.code).toBe('TOO_LARGE');
  });
});
