import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../core/index.js';
import { distroFromQualifier, jsonDepth, packageFromPurl, parsePackageDocument, readPackageFile, splitSourceRpm } from './index.js';

const fixture = (name: string): string => join(import.meta.dirname, '__fixtures__', name);
const summary = (doc: Awaited<ReturnType<typeof readPackageFile>>) =>
  doc.packages.map((p) => [p.type, p.name, p.version, p.source ?? null, p.distro ? `${p.distro.id} ${p.distro.versionId}` : null]);

describe('packageFromPurl', () => {
  it.each<[string, string | undefined, unknown]>([
    [
      'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12',
      undefined,
      { type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', arch: 'amd64', distro: { id: 'debian', versionId: '12' }, source: { name: 'openssl' } },
    ],
    [
      'pkg:deb/debian/libtiff6@4.5.0-6%2Bb1?upstream=tiff%404.5.0-6&distro=debian-12.5',
      undefined,
      { type: 'deb', name: 'libtiff6', version: '4.5.0-6+b1', distro: { id: 'debian', versionId: '12.5' }, source: { name: 'tiff', version: '4.5.0-6' } },
    ],
    [
      'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=rhel-9.4',
      undefined,
      {
        type: 'rpm',
        name: 'openssl-libs',
        version: '1:3.0.7-27.el9',
        arch: 'x86_64',
        distro: { id: 'rhel', versionId: '9.4' },
        source: { name: 'openssl', version: '1:3.0.7-27.el9' },
      },
    ],
    ['pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=3.19.1', undefined, { type: 'apk', name: 'musl', version: '1.2.4_git20230717-r4', arch: 'x86_64', distro: { id: 'alpine', versionId: '3.19.1' } }],
    ['pkg:npm/%40babel/core@7.23.0', undefined, { type: 'npm', name: '@babel/core', version: '7.23.0' }],
    ['pkg:pypi/Django_REST@3.14.0', undefined, { type: 'pypi', name: 'django-rest', version: '3.14.0' }],
    ['pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar', undefined, { type: 'maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1' }],
    ['pkg:golang/github.com/gin-gonic/gin@v1.9.0', undefined, { type: 'golang', name: 'github.com/gin-gonic/gin', version: 'v1.9.0' }],
    ['pkg:composer/laravel/framework', '10.48.4', { type: 'composer', name: 'laravel/framework', version: '10.48.4' }],
  ])('%s', (purl, fallback, expected) => {
    const result = packageFromPurl(purl, fallback);
    expect(result).toEqual({ ok: true, package: { purl, ...(expected as object) } });
  });

  it.each([
    ['pkg:generic/openssl@3.0.11', "unsupported purl type 'generic'"],
    ['pkg:npm/lodash', 'no version'],
  ])('refuses %s', (purl, reason) => {
    expect(packageFromPurl(purl)).toEqual({ ok: false, reason });
  });

  it('refuses a string that is not a purl', () => {
    const result = packageFromPurl('lodash@4.17.21');
    expect(result.ok).toBe(false);
  });
});

describe('distro and source helpers', () => {
  it.each([
    ['debian-12', { id: 'debian', versionId: '12' }],
    ['alpine-3.19.1', { id: 'alpine', versionId: '3.19.1' }],
    ['ubuntu-22.04', { id: 'ubuntu', versionId: '22.04' }],
    ['opensuse-leap-15.5', { id: 'opensuse-leap', versionId: '15.5' }],
    ['wolfi', { id: 'wolfi', versionId: '' }],
  ])('distro qualifier %s', (value, expected) => {
    expect(distroFromQualifier(value)).toEqual(expected);
  });

  it.each([
    ['openssl-3.0.7-27.el9.src.rpm', { name: 'openssl', version: '3.0.7-27.el9' }],
    ['python3.11-3.11.5-1.el9_3.src.rpm', { name: 'python3.11', version: '3.11.5-1.el9_3' }],
    ['bash.src.rpm', undefined],
  ])('source rpm %s', (value, expected) => {
    expect(splitSourceRpm(value)).toEqual(expected);
  });
});

describe('readPackageFile', () => {
  it('reads a Trivy CycloneDX 1.5 document: OS component, source properties, nested components, duplicates', async () => {
    const doc = await readPackageFile(fixture('cyclonedx-trivy.json'));
    expect(doc.format).toBe('cyclonedx');
    expect(doc.distro).toEqual({ id: 'debian', versionId: '12.5' });
    expect(summary(doc)).toEqual([
      ['deb', 'libssl3', '3.0.11-1~deb12u2', { name: 'openssl', version: '3.0.11-1~deb12u2' }, 'debian 12.5'],
      ['deb', 'zlib1g', '1:1.2.13.dfsg-1', { name: 'zlib', version: '1:1.2.13.dfsg-1' }, 'debian 12.5'],
      ['npm', 'lodash', '4.17.20', null, null],
      ['npm', '@babel/traverse', '7.23.0', null, null],
    ]);
    expect(doc.skipped).toEqual([
      { ref: 'components[3].components[3] (local-lib)', reason: 'no purl' },
      { ref: 'components[3].components[4] (checkout)', reason: "unsupported purl type 'github'" },
      { ref: 'components[3].components[5]', reason: 'invalid component: Invalid input: expected string, received undefined' },
    ]);
    expect(doc.packages[0]?.locations).toEqual([{ path: fixture('cyclonedx-trivy.json') }]);
  });

  it('reads a Syft CycloneDX 1.6 document: rpm epoch and upstream source rpm, PyPI, Maven, Go', async () => {
    const doc = await readPackageFile(fixture('cyclonedx-syft.json'));
    expect(summary(doc)).toEqual([
      ['rpm', 'openssl-libs', '1:3.0.7-24.el9', { name: 'openssl', version: '1:3.0.7-24.el9' }, 'rocky 9.3'],
      ['pypi', 'pyyaml', '5.3.1', null, null],
      ['maven', 'org.apache.logging.log4j:log4j-core', '2.14.1', null, null],
      ['golang', 'stdlib', '1.21.4', null, null],
      ['golang', 'golang.org/x/net', 'v0.15.0', null, null],
    ]);
    expect(doc.skipped).toEqual([]);
  });

  it('reads a Trivy SPDX 2.3 document: OS package, sourceInfo, both PACKAGE-MANAGER spellings', async () => {
    const doc = await readPackageFile(fixture('spdx-trivy.json'));
    expect(doc.format).toBe('spdx');
    expect(doc.distro).toEqual({ id: 'alpine', versionId: '3.19.1' });
    expect(summary(doc)).toEqual([
      ['apk', 'libcrypto3', '3.1.4-r0', { name: 'openssl', version: '3.1.4-r0' }, 'alpine 3.19.1'],
      ['apk', 'busybox', '1.36.1-r15', { name: 'busybox', version: '1.36.1-r15' }, 'alpine 3.19.1'],
      ['pypi', 'flask', '0.12.2', null, null],
    ]);
    expect(doc.skipped).toEqual([
      { ref: 'packages[5] (mystery)', reason: 'no purl' },
      { ref: 'packages[6]', reason: 'invalid package: Invalid input: expected string, received undefined' },
    ]);
  });

  it("reads Palisade's own list: explicit fields, purl-only entries, document distro, skipped entries", async () => {
    const doc = await readPackageFile(fixture('palisade-list.json'));
    expect(doc.format).toBe('palisade');
    expect(summary(doc)).toEqual([
      ['deb', 'libtiff6', '4.5.0-6+b1', { name: 'tiff', version: '4.5.0-6' }, 'debian 12'],
      ['deb', 'libssl3', '3.0.11-1~deb12u2', { name: 'openssl' }, 'debian 12'],
      ['apk', 'libcrypto3', '3.1.4-r0', { name: 'openssl' }, 'alpine 3.19.1'],
      ['npm', '@babel/core', '7.23.0', null, null],
      ['maven', 'org.apache.logging.log4j:log4j-core', '2.14.1', null, null],
    ]);
    expect(doc.packages.map((p) => p.purl)).toEqual([
      'pkg:deb/debian/libtiff6@4.5.0-6%2Bb1?arch=amd64&distro=debian-12',
      'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12',
      'pkg:apk/alpine/libcrypto3@3.1.4-r0?upstream=openssl',
      'pkg:npm/%40babel/core@7.23.0',
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
    ]);
    expect(doc.skipped).toEqual([
      { ref: 'packages[5]', reason: 'invalid entry: entry: needs a purl, or type, name and version' },
      { ref: 'packages[6] (pkg:pypi/flask@0.12.2)', reason: "type 'npm' contradicts the purl's type 'pypi'" },
      { ref: 'packages[7] (pkg:generic/openssl@3.0.11)', reason: "unsupported purl type 'generic'" },
    ]);
  });
});

describe('parsePackageDocument errors', () => {
  const bytes = (text: string) => Buffer.from(text, 'utf8');
  const failure = (fn: () => unknown): [string, string] => {
    try {
      fn();
    } catch (error) {
      if (isAppError(error)) return [error.code, error.message];
      throw error;
    }
    throw new Error('expected an AppError');
  };

  it.each<[string, string, string, string]>([
    ['not JSON', '{"packages": [', 'BAD_INPUT', 'sbom.json: not valid JSON'],
    ['XML CycloneDX', '<?xml version="1.0"?><bom/>', 'BAD_INPUT', 'sbom.json: not valid JSON (XML documents are not supported: export the SBOM as JSON)'],
    ['an array', '[1, 2]', 'UNSUPPORTED', 'sbom.json: not a Palisade package list'],
    ['SPDX 2.1', '{"spdxVersion": "SPDX-2.1", "packages": []}', 'BAD_INPUT', 'sbom.json: not a usable SPDX document'],
    ['CycloneDX 2.0', '{"bomFormat": "CycloneDX", "specVersion": "2.0"}', 'BAD_INPUT', 'sbom.json: not a usable CycloneDX document'],
    ['packages not an array', '{"packages": {"a": 1}}', 'UNSUPPORTED', 'sbom.json: not a Palisade package list'],
  ])('%s', (_title, text, code, prefix) => {
    const [gotCode, message] = failure(() => parsePackageDocument(bytes(text), 'sbom.json'));
    expect(gotCode).toBe(code);
    expect(message.startsWith(prefix)).toBe(true);
  });

  it('refuses documents above the size limit, and nesting above the depth limit', () => {
    const text = JSON.stringify({ packages: [] });
    expect(failure(() => parsePackageDocument(bytes(text), 'big.json', { maxBytes: 10, maxDepth: 10 }))).toEqual([
      'TOO_LARGE',
      `big.json: ${text.length} bytes is more than the 10-byte limit for package lists and SBOMs`,
    ]);
    const deep = `{"packages": [], "x": ${'['.repeat(200)}${']'.repeat(200)}}`;
    expect(failure(() => parsePackageDocument(bytes(deep), 'deep.json'))).toEqual([
      'BAD_INPUT',
      'deep.json: JSON nested 201 levels deep, more than the limit of 128',
    ]);
  });

  it('counts depth outside strings only', () => {
    expect(jsonDepth(bytes('{"a": "[[[[{{{\\"[[", "b": [[1]]}'))).toBe(3);
  });

  it('checks the file size before reading, and names a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-sbom-'));
    const file = join(dir, 'list.json');
    writeFileSync(file, readFileSync(fixture('palisade-list.json')));
    await expect(readPackageFile(file, { maxBytes: 100, maxDepth: 128 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(readPackageFile(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `${join(dir, 'missing.json')}: cannot read the package list: ENOENT`,
    });
  });
});
