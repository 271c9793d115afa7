import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, SHARED } from './support/cli.js';
import { fullDb, vulndataPresent } from './support/full-db.js';

/**
 * The proof of image scanning: `palisade scan image` on ../shared/images/mixed-app.oci.tar against the
 * advisory DB built from every feed in ../shared/vulndata. What the image holds is read from the
 * image's own README at test time (the ground truth its builders wrote), never copied here.
 */
const IMAGE = join(SHARED, 'images', 'mixed-app.oci.tar');
const README = join(SHARED, 'images', 'README.md');
const present = existsSync(IMAGE) && existsSync(README) && vulndataPresent();
if (!present) console.warn(`skipping the mixed-app scan proof: ${IMAGE} or ../shared/vulndata is absent (they ship beside the repo in development and CI only)`);

interface JsonPackage {
  type: string;
  name: string;
  version: string;
  purl: string;
  source?: { name: string; version?: string };
  locations: { path: string; layer?: string }[];
  managedBy?: string;
}
interface JsonFinding {
  advisoryId: string;
  aliases: string[];
  package: JsonPackage;
  installedVersion: string;
  fixedVersions: string[];
  fixState: string;
}
interface JsonReport {
  target: { digest: string };
  distro: { id: string; versionId: string };
  packages: JsonPackage[];
  findings: JsonFinding[];
}

/** `name@version [*] [(path under node_modules)]` lines of the README's npm list. */
function readmeNpmPackages(readme: string): { name: string; version: string; path: string }[] {
  const block = readme.split('<summary>all npm packages')[1]?.split('```')[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const match = /^(@?[^@\s]+)@(\S+)(?:\s+\*)?(?:\s+\(([^)]+)\))?$/.exec(line);
      if (!match?.[1] || !match[2]) throw new Error(`unexpected npm line in the image README: ${line}`);
      return { name: match[1], version: match[2], path: `/app/node_modules/${match[3] ?? match[1]}/package.json` };
    });
}

/** Rows of the README's Debian package table: package, version, source, source version. */
function readmeDebRows(readme: string): string[][] {
  return readme
    .split('\n')
    .filter((line) => /^\| [a-z0-9][a-z0-9.+-]+ \| /.test(line) && line.split('|').length === 6)
    .map((line) => line.split('|').slice(1, 5).map((cell) => cell.trim()));
}

describe.skipIf(!present)('palisade scan image oci-archive:mixed-app.oci.tar with the full advisory DB', () => {
  let work: string;
  let report: JsonReport;
  let readme: string;
  let dbPath: string;

  beforeAll(async () => {
    assertBuilt();
    readme = readFileSync(README, 'utf8');
    dbPath = (await fullDb()).dbPath;
    work = mkdtempSync(join(tmpdir(), 'palisade-mixed-app-'));
    const run = await runCli(['scan', 'image', `oci-archive:${IMAGE}`, '--db', dbPath, '--format', 'json', '--quiet'], {
      env: { PALISADE_CACHE_DIR: join(work, 'cache') },
    });
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as JsonReport;
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const packagesOf = (type: string): JsonPackage[] => report.packages.filter((p) => p.type === type);

  it('identifies the image and its OS', () => {
    expect(report.target.digest).toBe('sha256:ddb22e1f457197b1c4eb21fa236fac7ec289f0f3b6d219a58747801af45efebf');
    expect(report.distro).toMatchObject({ id: 'debian', versionId: '12', codename: 'bookworm' });
  });

  it('finds all 137 dpkg packages, with source packages and distro purls', () => {
    expect(packagesOf('deb')).toHaveLength(137);
    const rows = readmeDebRows(readme);
    expect(rows.length).toBeGreaterThanOrEqual(25);
    for (const [name, version, source, sourceVersion] of rows) {
      const pkg = packagesOf('deb').find((p) => p.name === name);
      expect(pkg, name).toBeDefined();
      expect(pkg?.version).toBe(version);
      expect(pkg?.source).toEqual({ name: source, version: sourceVersion });
      expect(pkg?.purl).toMatch(new RegExp(`^pkg:deb/debian/${name?.replaceAll('+', '%2B')}@${encodeURIComponent(version ?? '').replaceAll('%3A', ':')}\\?arch=[a-z0-9]+&distro=debian-12$`));
    }
    // Layer 2 deletes files of these packages, not their dpkg records: they stay installed.
    expect(packagesOf('deb').map((p) => p.name)).toEqual(expect.arrayContaining(['python3-yaml', 'ruby-rack']));
  });

  it('finds every npm package of the README at its path, with its purl', () => {
    const expected = readmeNpmPackages(readme);
    expect(expected).toHaveLength(215);
    for (const { name, version, path } of expected) {
      const pkg = packagesOf('npm').find((p) => p.name === name && p.version === version);
      expect(pkg, `${name}@${version}`).toBeDefined();
      expect(pkg?.purl).toBe(`pkg:npm/${name.replace('@', '%40')}@${version}`);
      expect(pkg?.locations.map((l) => l.path)).toContain(path);
    }
    expect(new Set(packagesOf('npm').map((p) => `${p.name}@${p.version}`))).toEqual(new Set(expected.map((e) => `${e.name}@${e.version}`)));
  });

  it('finds the jars by their pom.properties and the Go binary by its build info', () => {
    expect(packagesOf('maven').map((p) => p.purl).sort()).toEqual([
      'pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.14.0',
      'pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.1',
      'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0',
      'pkg:maven/org.apache.commons/commons-lang3@3.12.0',
      'pkg:maven/org.apache.commons/commons-text@1.10.0',
    ]);
    expect(packagesOf('golang').map((p) => p.purl).sort()).toEqual([
      'pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8',
      'pkg:golang/stdlib@1.20.4',
    ]);
  });

  it('applies the whiteouts of layer 2: PyYAML is gone, the other Python distributions stay (owned by dpkg)', () => {
    const python = packagesOf('pypi');
    expect(python.map((p) => `${p.name}@${p.version}`).sort()).toEqual([
      'certifi@2022.9.24',
      'chardet@5.1.0',
      'charset-normalizer@3.0.1',
      'idna@3.3',
      'requests@2.28.1',
      'six@1.16.0',
      'urllib3@1.26.12',
    ]);
    expect(python.every((p) => p.managedBy === 'dpkg')).toBe(true);
    expect(report.packages.some((p) => p.name === 'pyyaml' || p.locations.some((l) => l.path.includes('PyYAML')))).toBe(false);
  });

  it('judges Debian-owned Python and Ruby packages by Debian only: no PyPI or RubyGems findings', () => {
    expect(report.findings.filter((f) => f.package.type === 'pypi' || f.package.type === 'gem')).toEqual([]);
    expect(packagesOf('gem').every((p) => p.managedBy === 'dpkg')).toBe(true);
  });

  it.each([
    ['lodash', '4.17.15', 'CVE-2020-8203', '4.17.19'],
    ['lodash', '4.17.15', 'CVE-2021-23337', '4.17.21'],
    ['minimist', '1.2.0', 'CVE-2021-44906', '1.2.6'],
    ['handlebars', '4.5.0', 'CVE-2021-23369', '4.7.7'],
    ['axios', '0.21.0', 'CVE-2020-28168', '0.21.1'],
    ['node-fetch', '2.6.0', 'CVE-2022-0235', '2.6.7'],
    ['jsonwebtoken', '8.5.1', 'CVE-2022-23539', '9.0.0'],
    ['express', '4.17.1', 'CVE-2024-29041', '4.19.2'],
  ])('reports %s %s as vulnerable to %s, fixed in %s', (name, version, id, fixed) => {
    const finding = report.findings.find((f) => f.package.name === name && f.installedVersion === version && f.advisoryId === id);
    expect(finding).toBeDefined();
    expect(finding?.fixedVersions).toContain(fixed);
    expect(finding?.fixState).toBe('fixed');
  });

  it('re-scans a cached digest without reading layers and gives the same report', async () => {
    const again = await runCli(['scan', 'image', `oci-archive:${IMAGE}`, '--db', dbPath, '--format', 'json', '--quiet'], {
      env: { PALISADE_CACHE_DIR: join(work, 'cache') },
    });
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as JsonReport & { createdAt: string };
    const first = report as JsonReport & { createdAt: string };
    expect({ ...second, createdAt: '' }).toEqual({ ...first, createdAt: '' });
  });
});
