import { describe, expect, it } from 'vitest';
import type { CatalogFile } from '../types.js';
import { DEFAULT_ARCHIVE_LIMITS, parseJavaArchive, parseManifest, parseProperties, splitArchiveName } from './archive.js';
import { javaArchiveCataloger } from './index.js';
import { buildZip } from './__fixtures__/zip-writer.js';

const LAYER = 'sha256:d67930f6463d';

function jar(path: string, bytes: Buffer): CatalogFile {
  return { path, layer: LAYER, bytes, size: bytes.length, mode: 0o644 };
}

const LANG3_POM = `#Created by Apache Maven 3.8.6
version=3.12.0
groupId=org.apache.commons
artifactId=commons-lang3
`;

const LANG3_MANIFEST = `Manifest-Version: 1.0
Created-By: Maven JAR Plugin 3.2.2
Bundle-SymbolicName: org.apache.commons.lang3
Implementation-Title: Apache Commons Lang
Implementation-Vendor-Id: org.apache.commons
Implementation-Version: 3.12.0
Bundle-Version: 3.12.0

`;

function purls(out: { packages: { purl: string; locations: { path: string }[] }[] }): string[] {
  return out.packages.map((p) => `${p.locations[0]?.path} ${p.purl}`);
}

describe('parseJavaArchive', () => {
  it.each([
    [
      'pom.properties (deflated)',
      '/app/lib/commons-lang3-3.12.0.jar',
      buildZip({ 'META-INF/MANIFEST.MF': LANG3_MANIFEST, 'META-INF/maven/org.apache.commons/commons-lang3/pom.properties': LANG3_POM }),
      ['/app/lib/commons-lang3-3.12.0.jar pkg:maven/org.apache.commons/commons-lang3@3.12.0'],
    ],
    [
      'own and shaded pom.properties (stored)',
      '/app/lib/app-all-1.0.jar',
      buildZip(
        {
          'META-INF/maven/com.example/app-all/pom.properties': 'groupId=com.example\nartifactId=app-all\nversion=1.0\n',
          'META-INF/maven/com.google.guava/guava/pom.properties': 'version: 31.1-jre\ngroupId: com.google.guava\nartifactId: guava\n',
        },
        'store',
      ),
      ['/app/lib/app-all-1.0.jar pkg:maven/com.example/app-all@1.0', '/app/lib/app-all-1.0.jar pkg:maven/com.google.guava/guava@31.1-jre'],
    ],
    [
      'manifest fallback with Implementation-Vendor-Id',
      '/opt/lib/commons-lang3-3.12.0.jar',
      buildZip({ 'META-INF/MANIFEST.MF': LANG3_MANIFEST }),
      ['/opt/lib/commons-lang3-3.12.0.jar pkg:maven/org.apache.commons/commons-lang3@3.12.0'],
    ],
    [
      'manifest fallback with Bundle-SymbolicName',
      '/opt/lib/jackson-core-2.14.1.jar',
      buildZip({ 'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-core\nBundle-Version: 2.14.1\n' }),
      ['/opt/lib/jackson-core-2.14.1.jar pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.1'],
    ],
    [
      'nested jars in a war, two levels',
      '/srv/app.war',
      buildZip({
        'WEB-INF/web.xml': '<web-app/>',
        'WEB-INF/lib/commons-lang3-3.12.0.jar': buildZip({ 'META-INF/maven/org.apache.commons/commons-lang3/pom.properties': LANG3_POM }),
        'WEB-INF/lib/fat.jar': buildZip({
          'META-INF/maven/com.example/fat/pom.properties': 'groupId=com.example\nartifactId=fat\nversion=2.0\n',
          'lib/snakeyaml-1.33.jar': buildZip({ 'META-INF/maven/org.yaml/snakeyaml/pom.properties': 'groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n' }),
        }),
      }),
      [
        '/srv/app.war:WEB-INF/lib/commons-lang3-3.12.0.jar pkg:maven/org.apache.commons/commons-lang3@3.12.0',
        '/srv/app.war:WEB-INF/lib/fat.jar pkg:maven/com.example/fat@2.0',
        '/srv/app.war:WEB-INF/lib/fat.jar:lib/snakeyaml-1.33.jar pkg:maven/org.yaml/snakeyaml@1.33',
      ],
    ],
  ])('%s', async (_label, path, bytes, expected) => {
    const out = await parseJavaArchive(jar(path, bytes));
    expect(purls(out)).toEqual(expected);
    expect(out.skipped).toBe(0);
    expect(out.packages[0]).toMatchObject({ type: 'maven', locations: [{ path: expected[0]?.split(' ')[0], layer: LAYER }] });
  });

  it('names packages group:artifact', async () => {
    const out = await parseJavaArchive(
      jar('/a/x.jar', buildZip({ 'META-INF/maven/org.apache.commons/commons-lang3/pom.properties': LANG3_POM })),
    );
    expect(out.packages.map((p) => `${p.name} ${p.version}`)).toEqual(['org.apache.commons:commons-lang3 3.12.0']);
  });

  it.each([
    ['unresolved version property', { 'META-INF/maven/g/a/pom.properties': 'groupId=g\nartifactId=a\nversion=${project.version}\n' }],
    ['manifest without a group', { 'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\nImplementation-Title: thing\nImplementation-Version: 1.0\n' }],
  ])('skips and counts %s', async (_label, entries) => {
    expect(await parseJavaArchive(jar('/a/thing.jar', buildZip(entries)))).toEqual({ packages: [], skipped: 1 });
  });

  it('stops at the depth cap and counts what it did not open', async () => {
    const inner = buildZip({ 'META-INF/maven/g/inner/pom.properties': 'groupId=g\nartifactId=inner\nversion=1\n' });
    const middle = buildZip({ 'lib/inner.jar': inner });
    const out = await parseJavaArchive(jar('/a/outer.jar', buildZip({ 'lib/middle.jar': middle })), { ...DEFAULT_ARCHIVE_LIMITS, maxDepth: 1 });
    expect(out).toEqual({ packages: [], skipped: 1 });
  });

  it('stops at the nested-bytes cap (zip bomb guard)', async () => {
    const big = buildZip({ 'META-INF/maven/g/big/pom.properties': 'groupId=g\nartifactId=big\nversion=1\n', 'pad.bin': Buffer.alloc(1 << 20) }, 'store');
    const out = await parseJavaArchive(jar('/a/outer.jar', buildZip({ 'lib/big.jar': big })), { ...DEFAULT_ARCHIVE_LIMITS, maxNestedBytes: 64 * 1024 });
    expect(out).toEqual({ packages: [], skipped: 1 });
  });

  it('throws BAD_INPUT for a file that is not a zip', async () => {
    await expect(parseJavaArchive(jar('/a/broken.jar', Buffer.from('not a zip at all')))).rejects.toThrow(
      '/a/broken.jar is not a readable zip archive',
    );
  });
});

describe('helpers', () => {
  it.each([
    ['commons-lang3-3.12.0.jar', { artifact: 'commons-lang3', version: '3.12.0' }],
    ['guava-31.1-jre.jar', { artifact: 'guava', version: '31.1-jre' }],
    ['app.war', { artifact: 'app' }],
  ])('splitArchiveName(%s)', (name, expected) => expect(splitArchiveName(name)).toEqual(expected));

  it('parses manifest continuation lines', () => {
    const attrs = parseManifest('Manifest-Version: 1.0\nBundle-SymbolicName: com.fasterxml.jackson.core.jac\n kson-databind\n\nName: x\nFoo: bar\n');
    expect(attrs.get('Bundle-SymbolicName')).toBe('com.fasterxml.jackson.core.jackson-databind');
    expect(attrs.has('Foo')).toBe(false);
  });

  it('parses properties separators and comments', () => {
    expect([...parseProperties('# c\n! c\na=1\nb: 2\nc 3\n')]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  it.each([
    ['/app/lib/x.jar', true],
    ['/app/x.WAR', true],
    ['/var/jenkins/plugins/git.hpi', true],
    ['/app/x.jar.sha1', false],
  ])('matches %s → %s', (path, expected) => {
    expect(javaArchiveCataloger.matches(path, { size: 100, mode: 0o644 })).toBe(expected);
  });
});
