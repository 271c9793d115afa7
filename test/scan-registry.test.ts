import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, gzip, makeTar, writeOciLayout } from '../src/image/__fixtures__/build.js';
import { TEST_ADVISORIES, writeTestFeed } from './support/advisories.js';
import { assertBuilt, runCli } from './support/cli.js';
import { registryAvailable, skopeoCopyAsync, startRegistry, type RunningRegistry } from './support/registry.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`;

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6160
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34)
Description: Secure Sockets Layer toolkit - shared libraries

Package: zlib1g
Status: install ok installed
Priority: required
Section: libs
Installed-Size: 168
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Provides: libz1
Depends: libc6 (>= 2.14)
Description: compression library - runtime
`;

const USER = { username: 'ci', password: 'registry-secret' };

interface JsonFinding {
  advisoryId: string;
  aliases: string[];
  package: { name: string; purl: string };
  installedVersion: string;
  fixedVersions: string[];
  fixState: string;
  severity: string;
}

describe.skipIf(!registryAvailable())('palisade scan image through a real registry (docker-registry + skopeo)', () => {
  let work: string;
  let registry: RunningRegistry;
  let dbPath: string;
  let digest: string;
  let layerDigest: string;
  const env = (): Record<string, string> => ({ PALISADE_CACHE_DIR: join(work, 'cache'), DOCKER_CONFIG: join(work, 'docker') });

  beforeAll(async () => {
    assertBuilt();
    work = mkdtempSync(join(tmpdir(), 'palisade-scan-e2e-'));
    dbPath = join(work, 'vulndb.sqlite');
    const imported = await runCli(['db', 'import', writeTestFeed(work), '--db', dbPath], { env: env() });
    expect(imported.code, imported.stderr).toBe(0);

    const layer = await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'usr/lib/os-release', body: OS_RELEASE },
      { name: 'var/lib/dpkg/status', body: DPKG_STATUS },
      { name: 'app/package.json', body: JSON.stringify({ name: 'shop', version: '1.0.0', dependencies: { lodash: '4.17.15' } }) },
      { name: 'app/node_modules/lodash/package.json', body: JSON.stringify({ name: 'lodash', version: '4.17.15', license: 'MIT' }) },
    ]);
    const image = buildImage({ layers: [{ blob: gzip(layer), tar: layer }] });
    digest = image.manifestDigest;
    layerDigest = image.layerDigests[0] ?? '';
    const layout = writeOciLayout(join(work, 'layout'), [{ image, tag: '1.0' }]);
    registry = await startRegistry({ htpasswd: USER });
    await skopeoCopyAsync(`oci:${layout}:1.0`, `docker://${registry.host}/shop/web:1.0`, USER);
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const scanArgs = (ref: string, ...extra: string[]): string[] => [
    'scan', 'image', ref, '--db', dbPath, '--insecure', '--username', USER.username, '--password-stdin', '--format', 'json', '--quiet', ...extra,
  ];

  it('scans by tag with basic auth and reports OS and npm findings with their fixes', async () => {
    const run = await runCli(scanArgs(`${registry.host}/shop/web:1.0`), { input: `${USER.password}\n`, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { target: { digest: string }; distro: { id: string; versionId: string }; findings: JsonFinding[]; packages: unknown[] };
    expect(report.target.digest).toBe(digest);
    expect(report.distro).toMatchObject({ id: 'debian', versionId: '12' });
    expect(report.packages).toHaveLength(3);
    const byId = new Map(report.findings.map((f) => [f.advisoryId, f]));
    // Findings are keyed by CVE; the GHSA that carries it is an alias.
    expect(byId.get('CVE-2020-8203')?.aliases).toContain(TEST_ADVISORIES.lodash.id);
    expect(byId.get('CVE-2020-8203')).toMatchObject({
      package: { name: 'lodash', purl: 'pkg:npm/lodash@4.17.15' },
      installedVersion: '4.17.15',
      fixedVersions: ['4.17.19'],
      fixState: 'fixed',
      severity: 'high',
    });
    expect(byId.get('CVE-2023-5678')).toMatchObject({
      package: { name: 'libssl3' },
      fixedVersions: ['3.0.13-1~deb12u1'],
      fixState: 'fixed',
      severity: 'low',
    });
    expect(byId.get('CVE-2023-45853')).toMatchObject({ package: { name: 'zlib1g' }, fixedVersions: [], fixState: 'unfixed' });
    expect(report.findings).toHaveLength(3);
  });

  it('scans by digest and gates with --fail-on', async () => {
    const run = await runCli(scanArgs(`${registry.host}/shop/web@${digest}`, '--fail-on', 'high'), { input: USER.password, env: env() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CVE-2020-8203 (high) in lodash 4.17.15, fixed in 4.17.19');
    const report = JSON.parse(run.stdout) as { target: { digest: string } };
    expect(report.target.digest).toBe(digest);
  });

  it('says clearly when the registry rejects the credentials', async () => {
    const run = await runCli(scanArgs(`${registry.host}/shop/web:1.0`), { input: 'wrong-password', env: env() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/401|credentials|unauthori[sz]ed/i);
    expect(run.stdout).toBe('');
  });

  it('says clearly when the tag does not exist', async () => {
    const run = await runCli(scanArgs(`${registry.host}/shop/web:9.9`), { input: USER.password, env: env() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/9\.9/);
  });

  it('re-scans a known digest from the cache without reading its layers', async () => {
    // The first test cached the SBOM by digest. A copy of the OCI layout without its layer blob has
    // the same digest: the scan can only succeed if it reads no layer.
    const copy = join(work, 'layout-without-layers');
    cpSync(join(work, 'layout'), copy, { recursive: true });
    rmSync(join(copy, 'blobs', 'sha256', layerDigest.slice('sha256:'.length)));
    const layoutRun = await runCli(['scan', 'image', `oci-layout:${copy}:1.0`, '--db', dbPath, '--format', 'json', '--quiet'], { env: env() });
    expect(layoutRun.code, layoutRun.stderr).toBe(0);
    const report = JSON.parse(layoutRun.stdout) as { findings: JsonFinding[] };
    expect(report.findings.map((f) => f.advisoryId).sort()).toEqual(['CVE-2020-8203', 'CVE-2023-45853', 'CVE-2023-5678']);
  });

  it('re-scans a tag from the cache, and sees a new image pushed to the tag', async () => {
    const ref = `${registry.host}/shop/cart:1.0`;
    await skopeoCopyAsync(`oci:${join(work, 'layout')}:1.0`, `docker://${ref}`, USER);
    const first = await runCli(scanArgs(ref), { input: USER.password, env: env() });
    const again = await runCli(scanArgs(ref), { input: USER.password, env: env() });
    expect(again.code, again.stderr).toBe(0);
    const stable = (text: string): unknown => ({ ...(JSON.parse(text) as object), createdAt: '' });
    expect(stable(again.stdout)).toEqual(stable(first.stdout));

    const layer = await makeTar([{ name: 'usr/lib/os-release', body: OS_RELEASE }]);
    const other = buildImage({ layers: [{ blob: gzip(layer), tar: layer }] });
    const otherLayout = writeOciLayout(join(work, 'layout-other'), [{ image: other, tag: '1.0' }]);
    await skopeoCopyAsync(`oci:${otherLayout}:1.0`, `docker://${ref}`, USER);
    const moved = await runCli(scanArgs(ref), { input: USER.password, env: env() });
    expect(moved.code, moved.stderr).toBe(0);
    const report = JSON.parse(moved.stdout) as { target: { digest: string }; findings: JsonFinding[] };
    expect(report.target.digest).not.toBe((JSON.parse(first.stdout) as { target: { digest: string } }).target.digest);
    expect(report.findings).toEqual([]);
  });
});

describe.skipIf(!registryAvailable())('palisade scan image through a registry that uses bearer-token auth', () => {
  let work: string;
  let tokens: TokenServer;
  let registry: RunningRegistry;
  let dbPath: string;
  const env = (): Record<string, string> => ({ PALISADE_CACHE_DIR: join(work, 'cache'), DOCKER_CONFIG: join(work, 'docker') });

  beforeAll(async () => {
    assertBuilt();
    work = mkdtempSync(join(tmpdir(), 'palisade-scan-token-'));
    dbPath = join(work, 'vulndb.sqlite');
    const imported = await runCli(['db', 'import', writeTestFeed(work), '--db', dbPath], { env: env() });
    expect(imported.code, imported.stderr).toBe(0);
    const layer = await makeTar([
      { name: 'usr/lib/os-release', body: OS_RELEASE },
      { name: 'app/node_modules/lodash/package.json', body: JSON.stringify({ name: 'lodash', version: '4.17.15' }) },
    ]);
    const image = buildImage({ layers: [{ blob: gzip(layer), tar: layer }] });
    const layout = writeOciLayout(join(work, 'layout'), [{ image, tag: '2.0' }]);
    tokens = await startTokenServer(work, USER);
    registry = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundlePath: tokens.certPath } });
    await skopeoCopyAsync(`oci:${layout}:2.0`, `docker://${registry.host}/shop/api:2.0`, USER);
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('gets a pull token from the realm the registry names and scans', async () => {
    const before = tokens.issued.length;
    const run = await runCli(
      ['scan', 'image', `${registry.host}/shop/api:2.0`, '--db', dbPath, '--insecure', '--username', USER.username, '--password-stdin', '--format', 'json', '--quiet'],
      { input: USER.password, env: env() },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(tokens.issued.slice(before)).toContain('repository:shop/api:pull');
    const report = JSON.parse(run.stdout) as { findings: JsonFinding[] };
    expect(report.findings.map((f) => f.advisoryId)).toEqual(['CVE-2020-8203']);
  });

  it('fails clearly when the token server refuses the credentials', async () => {
    const run = await runCli(
      ['scan', 'image', `${registry.host}/shop/api:2.0`, '--db', dbPath, '--insecure', '--username', USER.username, '--password-stdin', '--quiet'],
      { input: 'not-the-password', env: env() },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/401|credentials|unauthori[sz]ed|token/i);
  });
});

if (!registryAvailable()) console.warn('skipping registry scan tests: /usr/bin/docker-registry or skopeo is not installed (.ci/run installs them)');
