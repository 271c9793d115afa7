import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, silentLogger } from '../core/index.js';
import { buildImage, gzip, makeDockerArchive, makeTar, tarDirectory, writeOciLayout, type BuiltImage } from '../image/__fixtures__/build.js';
import { importFeeds } from '../vulndb/import.js';
import { runGroup } from './__fixtures__/run.js';
import { registerScan } from './scan.js';

/**
 * `palisade scan image` in-process: a re-scan answered by the scan cache prints the bytes the first
 * scan printed, in every format and with every filter; it reads no layer; a newer advisory DB
 * re-matches the cached package list; an archive rebuilt at the same path is described afresh.
 */
const repo = join(import.meta.dirname, '..', '..');
const FEEDS = join(repo, 'src', 'match', '__fixtures__', 'feeds');

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const dpkgEntry = (name: string, source: string, version: string): string =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nSource: ${source}\nVersion: ${version}\nDescription: ${name}\n`;
const DPKG_STATUS = [dpkgEntry('libssl3', 'openssl', '3.0.11-1~deb12u2'), dpkgEntry('zlib1g', 'zlib', '1:1.2.13.dfsg-1')].join('\n');

async function debianImage(extra: { name: string; body: string }[] = []): Promise<{ image: BuiltImage; layers: Buffer[] }> {
  const base = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/os-release', body: OS_RELEASE },
    { name: 'var/lib/dpkg/status', body: DPKG_STATUS },
  ]);
  const app = await makeTar([
    { name: 'app/package.json', body: JSON.stringify({ name: 'shop', version: '1.0.0' }) },
    { name: 'app/node_modules/lodash/package.json', body: JSON.stringify({ name: 'lodash', version: '4.17.15' }) },
    ...extra,
  ]);
  return { image: buildImage({ layers: [{ blob: gzip(base), tar: base }, { blob: gzip(app), tar: app }] }), layers: [base, app] };
}

/** The report with what differs between two runs by design (the scan time, and ids derived from it) blanked. */
function stable(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, 'TIME')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
}

describe('palisade scan image with the scan cache', () => {
  const work = mkdtempSync(join(tmpdir(), 'palisade-cli-scan-'));
  const dbPath = join(work, 'vulndb.sqlite');
  const layout = join(work, 'layout');
  const archive = join(work, 'app.oci.tar');
  const dockerArchive = join(work, 'app.docker.tar');
  let image: BuiltImage;
  let runs = 0;

  /** A fresh cache directory. */
  const cacheDir = (): string => {
    const dir = join(work, `cache-${(runs += 1)}`);
    mkdirSync(dir);
    return dir;
  };
  const scan = async (cache: string, ref: string, ...args: string[]): Promise<{ out: string; err: string }> =>
    runGroup(registerScan, ['scan', 'image', ref, '--db', dbPath, '--quiet', ...args], cache);
  const findingIds = (out: string): string[] => (JSON.parse(out) as { findings: { advisoryId: string }[] }).findings.map((f) => f.advisoryId).sort();

  /** Imports the fixture feeds into `path`, leaving out the files named. */
  const importDb = async (path: string, builtAt: string, without: string[] = []): Promise<void> => {
    const feeds = join(work, `feeds-${builtAt.slice(0, 10)}`);
    cpSync(FEEDS, feeds, { recursive: true });
    for (const name of without) rmSync(join(feeds, name));
    await importFeeds({ inputs: [feeds], dbPath: path, clock: fixedClock(builtAt), log: silentLogger });
  };

  beforeAll(async () => {
    await importDb(dbPath, '2025-03-01T00:00:00Z');
    const built = await debianImage();
    image = built.image;
    writeOciLayout(layout, [{ image, tag: '1.0' }]);
    writeFileSync(archive, await tarDirectory(layout));
    writeFileSync(dockerArchive, await makeDockerArchive(built.layers, ['shop/web:1.0'], 'legacy'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each([
    ['json', []],
    ['table', []],
    ['table', ['--list-all-pkgs']],
    ['sarif', []],
    ['cyclonedx', []],
    ['spdx', []],
    ['json', ['--severity', 'critical,high']],
    ['table', ['--ignore-unfixed']],
  ])('prints the same %s %j on a re-scan as on the first scan, and as without the cache', async (format, extra) => {
    for (const ref of [`oci-archive:${archive}`, `oci-layout:${layout}:1.0`, `docker-archive:${dockerArchive}`]) {
      const cache = cacheDir();
      const uncached = await scan(cacheDir(), ref, '--format', format, '--no-cache', ...extra);
      const first = await scan(cache, ref, '--format', format, ...extra);
      const again = await scan(cache, ref, '--format', format, ...extra);
      expect(stable(first.out), ref).toBe(stable(uncached.out));
      expect(stable(again.out), ref).toBe(stable(first.out));
      expect(again.err).toBe(first.err);
    }
  });

  it('applies an ignore file and VEX statements the same way on a re-scan', async () => {
    const ignore = join(work, 'ignore.yaml');
    writeFileSync(ignore, 'ignores:\n  - id: CVE-2023-45853\n    reason: minizip is not built\n');
    const vex = join(work, 'vex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': 'https://vex.example.com/shop',
        author: 'test',
        timestamp: '2026-01-01T00:00:00Z',
        version: 1,
        statements: [{ vulnerability: { name: 'CVE-2023-5678' }, products: [{ '@id': 'pkg:deb/debian/libssl3' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' }],
      }),
    );
    const cache = cacheDir();
    const args = ['--format', 'json', '--ignore-file', ignore, '--vex', vex];
    const first = await scan(cache, `oci-archive:${archive}`, ...args);
    const again = await scan(cache, `oci-archive:${archive}`, ...args);
    const report = JSON.parse(again.out) as { findings: unknown[]; suppressed: { by: string }[] };
    expect(report.findings).toEqual([]);
    expect(report.suppressed.map((s) => s.by).sort()).toEqual(['ignore-file', 'vex']);
    expect(stable(again.out)).toBe(stable(first.out));
  });

  it('re-scans without reading a layer: the layer blobs can be gone', async () => {
    const copy = join(work, 'layout-copy');
    cpSync(layout, copy, { recursive: true });
    const cache = cacheDir();
    const first = await scan(cache, `oci-layout:${copy}:1.0`, '--format', 'json');
    for (const digest of image.layerDigests) rmSync(join(copy, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const again = await scan(cache, `oci-layout:${copy}:1.0`, '--format', 'json');
    expect(stable(again.out)).toBe(stable(first.out));
    expect(findingIds(again.out)).toEqual(['CVE-2023-45853', 'CVE-2023-5678']);
    // Without the cache the missing layer is an error, so the re-scan above read none.
    await expect(scan(cacheDir(), `oci-layout:${copy}:1.0`, '--no-cache')).rejects.toThrow(/lacks the blob of layer/);
  });

  it('re-matches the cached package list against a newer advisory DB, reading no layer', async () => {
    const db = join(work, 'rebuilt.sqlite');
    await importDb(db, '2025-01-01T00:00:00Z', ['CVE-2023-45853.json']);
    const copy = join(work, 'layout-rematch');
    cpSync(layout, copy, { recursive: true });
    const cache = cacheDir();
    const run = async (): Promise<{ findings: { advisoryId: string }[]; db: { builtAt: string } }> =>
      JSON.parse((await runGroup(registerScan, ['scan', 'image', `oci-layout:${copy}:1.0`, '--db', db, '--quiet', '--format', 'json'], cache)).out) as {
        findings: { advisoryId: string }[];
        db: { builtAt: string };
      };
    const old = await run();
    expect(old.db.builtAt).toBe('2025-01-01T00:00:00.000Z');
    expect(old.findings.map((f) => f.advisoryId)).toEqual(['CVE-2023-5678']);

    for (const digest of image.layerDigests) rmSync(join(copy, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    await importDb(db, '2025-03-01T00:00:00Z');
    const newer = await run();
    expect(newer.db.builtAt).toBe('2025-03-01T00:00:00.000Z');
    expect(newer.findings.map((f) => f.advisoryId).sort()).toEqual(['CVE-2023-45853', 'CVE-2023-5678']);
    expect(await run()).toEqual({ ...newer, createdAt: expect.any(String) as string });
  });

  it('does not serve the findings that another Palisade release cached for the same DB', async () => {
    const cache = cacheDir();
    const ref = `oci-archive:${archive}`;
    const first = findingIds((await scan(cache, ref, '--format', 'json')).out);
    expect(first.length).toBeGreaterThan(0);
    // What a release before PALISADE_VERSION keyed findings by wrote: the DB's build time alone.
    const rows = new Database(join(cache, 'scan-cache.sqlite'));
    const changed = rows
      .prepare("UPDATE findings SET db_key = CASE WHEN instr(db_key, ' ') > 0 THEN substr(db_key, 1, instr(db_key, ' ') - 1) ELSE db_key END, body = '[]'")
      .run().changes;
    rows.close();
    expect(changed).toBe(1);
    expect(findingIds((await scan(cache, ref, '--format', 'json')).out)).toEqual(first);
  });

  it('describes an archive rebuilt at the same path afresh', async () => {
    const path = join(work, 'rebuilt.oci.tar');
    const other = join(work, 'layout-other');
    const { image: second } = await debianImage([{ name: 'app/node_modules/minimist/package.json', body: JSON.stringify({ name: 'minimist', version: '1.2.5' }) }]);
    writeOciLayout(other, [{ image: second, tag: '1.0' }]);
    const cache = cacheDir();
    writeFileSync(path, await tarDirectory(layout));
    const first = JSON.parse((await scan(cache, `oci-archive:${path}`, '--format', 'json')).out) as { target: { digest: string }; packages: { name: string }[] };
    expect(first.target.digest).toBe(image.manifestDigest);
    writeFileSync(path, await tarDirectory(other));
    const rebuilt = JSON.parse((await scan(cache, `oci-archive:${path}`, '--format', 'json')).out) as { target: { digest: string }; packages: { name: string }[] };
    expect(rebuilt.target.digest).toBe(second.manifestDigest);
    expect(rebuilt.packages.map((p) => p.name)).toContain('minimist');
    expect(first.packages.map((p) => p.name)).not.toContain('minimist');
  });

  it('says so when the advisory DB is missing, before creating the cache', async () => {
    const cache = cacheDir();
    await expect(runGroup(registerScan, ['scan', 'image', `oci-archive:${archive}`, '--db', join(work, 'none.sqlite')], cache)).rejects.toThrow(
      /advisory DB not found at .*none\.sqlite/,
    );
    expect(existsSync(join(cache, 'scan-cache.sqlite'))).toBe(false);
  });
});
